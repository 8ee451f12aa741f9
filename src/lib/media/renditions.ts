/**
 * The renditions.json format, in one place: its name, its types and its reader. `transcode` writes
 * it beside its renditions; `segment`, `quality` and the jobs read it. Apart from transcode.ts so
 * that reading a package does not load the process runner.
 */
import path from 'node:path'

import {UserError} from '../errors.js'
import {readJsonFile} from '../files.js'
import {compileJsonCheck} from '../json-check.js'
import type {RungRateControl} from './ffmpeg-fragments.js'
import type {H264Profile} from './ladder.js'
import type {PicturePlan} from './picture.js'
import type {MediaFacts} from './probe.js'
import type {ComplexityProbe, RateControlMode} from './rate-control.js'

export const RENDITIONS_FILE = 'renditions.json'

/** The one AAC rendition of an audio-only source (a podcast: media/audio-only.ts). */
export interface AudioRendition {
  name: string
  bitrateKbps: number
  /** RFC 6381, for HLS CODECS and DASH @codecs: "mp4a.40.2". */
  codecs: string
  channels: number
  sampleRate: number
  durationSeconds: number
  /** File name inside the output directory (an MP4 holding only the audio). */
  file: string
  sizeBytes: number
}

export interface Rendition {
  name: string
  width: number
  height: number
  videoBitrateKbps: number
  maxRateKbps: number
  bufferSizeKbps: number
  /** Absent when the source has no audio. */
  audioBitrateKbps?: number
  profile: H264Profile
  videoCodec: string
  audioCodec?: string
  /** HLS CODECS value for this rendition with its audio, e.g. "avc1.64001f,mp4a.40.2". */
  codecs: string
  frameRate: number
  durationSeconds: number
  /** File name inside the output directory. */
  file: string
  sizeBytes: number
  /** How the video's bits were spent (absent in renditions.json files of earlier versions: the fixed rate). */
  rateControl?: RungRateControl
  /** The real video bit rates, measured from the packets: average, and peak over one segment. */
  measuredVideo?: {averageKbps: number; peakKbps: number}
}

/** The content of renditions.json, and the `--json` result of `transcode`. */
export interface RenditionsManifest {
  version: 1
  createdAt: string
  /** Audio-only facts (no `video`) exactly when hasVideo is false. */
  source: MediaFacts
  segmentDurationSeconds: number
  /** Absent for an audio-only source. */
  gopFrames?: number
  /** The x264 preset; absent for an audio-only source. */
  preset?: string
  hasAudio: boolean
  /**
   * False for an audio-only source (a podcast: media/audio-only.ts): `renditions` is then empty and
   * `audioRendition` holds its one AAC rendition. Absent (files of earlier versions too): video.
   */
  hasVideo?: boolean
  audioRendition?: AudioRendition
  /** The --rate-control mode (absent in files of earlier versions: cbr-ish). */
  rateControl?: RateControlMode
  /** What was done to the picture before scaling: deinterlacing, tone-mapping, frame rate, canvas (picture.ts). */
  picture?: PicturePlan
  /** per-title: what the complexity probe measured. */
  complexityProbe?: ComplexityProbe
  renditions: Rendition[]
  /** What the user should know although it worked (a source cut off short of what it declares). */
  warnings?: string[]
}

/** A file of the output directory: a plain name inside it (no folder, nothing hidden, no way out). */
const plainFileName = {type: 'string', pattern: '^[^/\\\\.][^/\\\\]*$'} as const

/**
 * renditions.json as read back from disk: what `segment`, `quality` and the jobs rely on. The
 * nested facts (source, picture, rate control, probe) are the transcode's own records, kept as
 * written: checked only as being objects, as earlier versions wrote fewer of them.
 */
const renditionsManifestSchema = {
  type: 'object',
  properties: {
    version: {const: 1},
    createdAt: {type: 'string'},
    source: {type: 'object'},
    segmentDurationSeconds: {type: 'number', exclusiveMinimum: 0},
    gopFrames: {type: 'number'},
    preset: {type: 'string'},
    hasAudio: {type: 'boolean'},
    hasVideo: {type: 'boolean'},
    audioRendition: {
      type: 'object',
      properties: {
        name: {type: 'string'}, bitrateKbps: {type: 'number'}, codecs: {type: 'string'}, channels: {type: 'number'}, sampleRate: {type: 'number'},
        durationSeconds: {type: 'number'}, file: plainFileName, sizeBytes: {type: 'number'},
      },
      required: ['name', 'bitrateKbps', 'codecs', 'channels', 'sampleRate', 'durationSeconds', 'file', 'sizeBytes'],
    },
    rateControl: {type: 'string'},
    picture: {type: 'object'},
    complexityProbe: {type: 'object'},
    renditions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          name: {type: 'string'}, width: {type: 'number'}, height: {type: 'number'}, videoBitrateKbps: {type: 'number'}, maxRateKbps: {type: 'number'},
          bufferSizeKbps: {type: 'number'}, audioBitrateKbps: {type: 'number'}, profile: {type: 'string', enum: ['baseline', 'main', 'high']},
          videoCodec: {type: 'string'}, audioCodec: {type: 'string'}, codecs: {type: 'string'}, frameRate: {type: 'number'},
          durationSeconds: {type: 'number'}, file: plainFileName, sizeBytes: {type: 'number'}, rateControl: {type: 'object'}, measuredVideo: {type: 'object'},
        },
        required: ['name', 'width', 'height', 'videoBitrateKbps', 'maxRateKbps', 'bufferSizeKbps', 'profile', 'videoCodec', 'codecs', 'frameRate', 'durationSeconds', 'file', 'sizeBytes'],
      },
    },
    warnings: {type: 'array', items: {type: 'string'}},
  },
  required: ['version', 'createdAt', 'source', 'segmentDurationSeconds', 'hasAudio', 'renditions'],
} as const

const renditionsManifestCheck = compileJsonCheck<unknown>(renditionsManifestSchema)

/** Reads and checks a transcode output's renditions.json; one that is not a livectl renditions manifest is a UserError naming the file. */
export async function readRenditionsManifest(dir: string): Promise<RenditionsManifest> {
  const file = path.join(dir, RENDITIONS_FILE)
  const data = await readJsonFile(file, new UserError(`${dir} is not a transcode output: ${RENDITIONS_FILE} is missing`, {
    hint: 'Run `livectl transcode INPUT -o DIR` first and segment that DIR.',
  }))
  renditionsManifestCheck.parse(data, `${file} is not a livectl renditions manifest`, 'Transcode the recording again (`livectl transcode INPUT -o DIR`).')
  // Checked above, down to every field the readers use; the nested records are the transcode's own (see the schema).
  const manifest = data as RenditionsManifest
  // An audio-only source's (hasVideo false) lists no video renditions, and its audio in audioRendition.
  if (manifest.hasVideo === false ? !manifest.audioRendition : manifest.renditions.length === 0) {
    throw new UserError(`${file} is not a livectl renditions manifest (version 1 with at least one rendition)`)
  }

  return manifest
}
