/**
 * livectl-package.json: what a package holds, down to every segment's time and size. `publish`
 * and the API read this instead of parsing playlists.
 */
import path from 'node:path'

import type {FromSchema} from 'json-schema-to-ts'

import {UserError} from '../errors.js'
import {readJsonFile} from '../files.js'
import {compileJsonCheck} from '../json-check.js'

export const PACKAGE_MANIFEST_FILE = 'livectl-package.json'
export const HLS_MASTER_FILE = 'master.m3u8'
export const DASH_MANIFEST_FILE = 'manifest.mpd'

const PACKAGE_FORMATS = ['hls', 'dash'] as const
export type PackageFormat = (typeof PACKAGE_FORMATS)[number]

export interface PackageFile {
  file: string
  sizeBytes: number
}

export interface PackageSegment extends PackageFile {
  index: number
  startSeconds: number
  durationSeconds: number
}

/**
 * Appends a segment that follows the last one (index and start from it; times rounded to the
 * microsecond, as everywhere in a manifest). Returns it.
 */
export function appendSegment(segments: PackageSegment[], file: string, durationSeconds: number, sizeBytes: number): PackageSegment {
  const previous = segments.at(-1)
  const round = (seconds: number) => Math.round(seconds * 1e6) / 1e6
  const segment = {index: segments.length, file, startSeconds: previous ? round(previous.startSeconds + previous.durationSeconds) : 0, durationSeconds: round(durationSeconds), sizeBytes}
  segments.push(segment)
  return segment
}

export interface PackageTrack {
  /** DASH Representation id (also in the file names). */
  id: string
  name: string
  type: 'video' | 'audio'
  /** This track's own codec, e.g. "avc1.64001f" or "mp4a.40.2". */
  codecs: string
  /** Peak bits per second over any one segment. */
  bandwidth: number
  averageBandwidth: number
  width?: number
  height?: number
  frameRate?: number
  channels?: number
  sampleRate?: number
  /** HLS media playlist, when the package has HLS. */
  playlist?: string
  init: PackageFile
  segments: PackageSegment[]
}

export interface PackageManifest {
  version: 1
  createdAt: string
  durationSeconds: number
  segmentDurationSeconds: number
  formats: PackageFormat[]
  hlsMaster?: string
  dashManifest?: string
  /** Video renditions, tallest first; none in an audio-only package (its one track is `audio`). */
  renditions: PackageTrack[]
  audio?: PackageTrack
  totalFiles: number
  totalBytes: number
}

export function parseFormats(value: string): PackageFormat[] {
  const formats = [...new Set(value.split(',').map((format) => format.trim().toLowerCase()).filter(Boolean))]
  if (formats.length === 0) throw new UserError('--format needs at least one of hls, dash')
  for (const format of formats) {
    if (!(PACKAGE_FORMATS as readonly string[]).includes(format)) {
      throw new UserError(`Unknown format "${format}"`, {hint: 'Use hls, dash or hls,dash.'})
    }
  }

  return formats as PackageFormat[]
}

const packageFileSchema = {
  type: 'object',
  properties: {file: {type: 'string', minLength: 1}, sizeBytes: {type: 'number', minimum: 0}},
  required: ['file', 'sizeBytes'],
} as const

const packageTrackSchema = {
  type: 'object',
  properties: {
    id: {type: 'string'},
    name: {type: 'string'},
    type: {type: 'string', enum: ['video', 'audio']},
    codecs: {type: 'string'},
    bandwidth: {type: 'number'},
    averageBandwidth: {type: 'number'},
    width: {type: 'number'},
    height: {type: 'number'},
    frameRate: {type: 'number'},
    channels: {type: 'number'},
    sampleRate: {type: 'number'},
    playlist: {type: 'string'},
    init: packageFileSchema,
    segments: {
      type: 'array',
      items: {
        type: 'object',
        properties: {...packageFileSchema.properties, index: {type: 'integer', minimum: 0}, startSeconds: {type: 'number'}, durationSeconds: {type: 'number'}},
        required: [...packageFileSchema.required, 'index', 'startSeconds', 'durationSeconds'],
      },
    },
  },
  required: ['id', 'name', 'type', 'codecs', 'bandwidth', 'averageBandwidth', 'init', 'segments'],
} as const

/** livectl-package.json as read back from disk: checked before publish, the catalog or the API trust it. */
const packageManifestSchema = {
  type: 'object',
  properties: {
    version: {const: 1},
    createdAt: {type: 'string'},
    durationSeconds: {type: 'number'},
    segmentDurationSeconds: {type: 'number'},
    formats: {type: 'array', items: {type: 'string', enum: PACKAGE_FORMATS}},
    hlsMaster: {type: 'string'},
    dashManifest: {type: 'string'},
    renditions: {type: 'array', items: packageTrackSchema},
    audio: packageTrackSchema,
    totalFiles: {type: 'number'},
    totalBytes: {type: 'number'},
  },
  required: ['version', 'createdAt', 'durationSeconds', 'segmentDurationSeconds', 'formats', 'renditions', 'totalFiles', 'totalBytes'],
} as const

// What the schema lets through is a PackageManifest: this stops compiling when the two drift apart.
const _schemaCoversInterface: FromSchema<typeof packageManifestSchema> extends PackageManifest ? true : false = true

const packageManifestCheck = compileJsonCheck<PackageManifest>(packageManifestSchema)

/** Reads DIR/livectl-package.json; one that is not a livectl package manifest is a UserError naming the file and what is wrong. */
export async function readPackageManifest(dir: string): Promise<PackageManifest> {
  const file = path.join(dir, PACKAGE_MANIFEST_FILE)
  const data = await readJsonFile(file, new UserError(`${dir} is not a livectl package: ${PACKAGE_MANIFEST_FILE} is missing`, {
    hint: 'Run `livectl segment DIR -o PKG` first.',
  }))
  return packageManifestCheck.parse(data, `${file} is not a livectl package manifest`, 'Segment the renditions again (`livectl segment DIR -o PKG`).')
}
