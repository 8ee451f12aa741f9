/**
 * The VOD job spec, defined once: a JSON Schema with its defaults, the type made from it, and the
 * two ways a spec comes to be. `buildVodJobSpec` makes one from what a caller knows (`run`'s flags,
 * an upload), filling in the defaults; `parseVodJobSpec` checks one that comes back from outside
 * (job data from Redis). Both refuse a bad spec with a UserError that says which field is wrong.
 */
import path from 'node:path'

import type {FromSchema} from 'json-schema-to-ts'

import {idFromName} from '../catalog/ids.js'
import {compileJsonCheck} from '../json-check.js'
import {X264_PRESETS} from '../media/encoder-settings.js'
import {DEFAULT_LADDER} from '../media/ladder.js'
import {DEINTERLACE_MODES} from '../media/picture.js'
import {DEFAULT_RATE_CONTROL, RATE_CONTROL_MODES} from '../media/rate-control.js'
import {isStorageUri} from '../storage/open.js'

/** The defaults every spec gets, whoever makes it: `run`, `serve`'s uploads, `demo`, a queue worker reading an older job. */
export const VOD_JOB_DEFAULTS = {
  ladder: DEFAULT_LADDER.join(','),
  segmentDurationSeconds: 2,
  preset: 'veryfast',
  rateControl: DEFAULT_RATE_CONTROL,
  deinterlace: 'auto',
  formats: ['hls', 'dash'],
} as const

/** The same as catalog/ids.ts: the video id reaches paths, storage keys and URLs. */
const VIDEO_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'

const invalidationSchema = {
  oneOf: [
    {
      type: 'object',
      properties: {
        mode: {const: 'cloudfront'},
        distributionId: {type: 'string', minLength: 1},
        wait: {type: 'boolean'},
        waitSeconds: {type: 'number', exclusiveMinimum: 0},
        endpoint: {type: 'string', minLength: 1},
      },
      required: ['mode', 'distributionId'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: {
        mode: {const: 'purge'},
        baseUrl: {type: 'string', minLength: 1},
      },
      required: ['mode', 'baseUrl'],
      additionalProperties: false,
    },
  ],
} as const

/** Everything a job needs that is not machine-specific: JSON, so it can travel through a queue. */
export const vodJobSpecSchema = {
  $id: 'VodJobSpec',
  type: 'object',
  properties: {
    input: {type: 'string', minLength: 1, description: 'A file path (on a folder every worker sees), or a storage URI of one object (s3://bucket/key, hdfs://..., file://...).'},
    videoId: {type: 'string', pattern: VIDEO_ID_PATTERN},
    // Any length: the catalog's column holds 500 characters, and a longer title is cut to fit (fitTitle), not refused.
    title: {type: 'string'},
    to: {type: 'string', minLength: 1, description: 'Storage URI the package is published to.'},
    ladder: {type: 'string', minLength: 1, default: VOD_JOB_DEFAULTS.ladder, description: 'Rung names (1080p,720p,...) or a ladder JSON file.'},
    // The range transcode accepts (media/transcode.ts validateSegmentDuration).
    segmentDurationSeconds: {type: 'number', minimum: 0.5, maximum: 20, default: VOD_JOB_DEFAULTS.segmentDurationSeconds},
    preset: {type: 'string', enum: X264_PRESETS, default: VOD_JOB_DEFAULTS.preset},
    rateControl: {type: 'string', enum: RATE_CONTROL_MODES, default: VOD_JOB_DEFAULTS.rateControl, description: 'How each rung spends bits.'},
    deinterlace: {type: 'string', enum: DEINTERLACE_MODES, default: VOD_JOB_DEFAULTS.deinterlace, description: 'Interlaced sources: auto (detected), on, off.'},
    formats: {type: 'array', items: {type: 'string', enum: ['hls', 'dash']}, minItems: 1, uniqueItems: true, default: VOD_JOB_DEFAULTS.formats},
    invalidate: invalidationSchema,
    chunkSeconds: {type: 'number', exclusiveMinimum: 0, description: 'Encode in chunks of this many seconds (whole segments: see media/chunks.ts).'},
  },
  required: ['input', 'videoId', 'to'],
  additionalProperties: false,
} as const

/** A complete spec: every default filled in. */
export type VodJobSpec = FromSchema<typeof vodJobSpecSchema>
/** What a caller gives: the defaulted fields may be left out. */
export type VodJobSpecInput = FromSchema<typeof vodJobSpecSchema, {keepDefaultedPropertiesOptional: true}>

const specCheck = compileJsonCheck<VodJobSpec>(vodJobSpecSchema)

/** A video id from an input's file name: "talks/Keynote 2026.mov" -> "keynote-2026". */
export function videoIdFromInput(input: string): string {
  const name = input.split(/[\\/]/).filter(Boolean).at(-1) ?? input
  return idFromName(name.replace(/\.[^.]+$/, ''))
}

/**
 * A spec from what the caller knows: the defaults filled in, the video id (when left out) from the
 * input's file name, and local paths made absolute (a queued job runs in another process, maybe
 * in another directory). Throws a UserError naming the bad field.
 */
export function buildVodJobSpec(input: Omit<VodJobSpecInput, 'videoId'> & {videoId?: string}): VodJobSpec {
  const absolute = (location: string) => (isStorageUri(location) ? location : path.resolve(location))
  const spec = {
    ...withoutUndefined(input),
    input: absolute(input.input),
    videoId: input.videoId ?? videoIdFromInput(input.input),
    to: absolute(input.to),
    ...(input.formats ? {formats: [...input.formats]} : {}),
  }
  return fitTitle(specCheck.parse(spec, 'Invalid job', 'See `livectl run --help` for what each setting takes.'))
}

/** The catalog's title column holds 500 characters: a longer title is cut, as uploads cut theirs. */
const TITLE_MAX_CHARACTERS = 500
function fitTitle(spec: VodJobSpec): VodJobSpec {
  return spec.title !== undefined && spec.title.length > TITLE_MAX_CHARACTERS ? {...spec, title: spec.title.slice(0, TITLE_MAX_CHARACTERS)} : spec
}

/** A spec that comes from outside (job data from Redis): checked as is, defaults filled in; `source` names it in the error. */
export function parseVodJobSpec(data: unknown, source: string): VodJobSpec {
  // A copy: filling in the defaults must not change the caller's object (BullMQ's job.data).
  const copy: unknown = data !== null && typeof data === 'object' && !Array.isArray(data) ? structuredClone(data) : data
  return fitTitle(specCheck.parse(copy, source))
}

/** Keys whose value is undefined are left out (`{title: flags.title}` with no --title): absent, not invalid. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T
}
