/**
 * Chunked encoding: a long recording cut at segment boundaries into chunks, each chunk's whole
 * video ladder encoded on its own (one after another here, or on queue workers), the audio encoded
 * once for the whole file (a join in audio is audible: AAC priming at every chunk start), and each
 * rung's chunks joined without re-encoding (concat demuxer, stream copy) with the audio muxed in.
 *
 * Every chunk starts on a segment boundary, so its first frame is a keyframe where the one-process
 * encode has one too, and its forced keyframes (every segment, counted from its own start) land
 * on the same boundaries. Chunks are cut by frame count, not by time: no frame repeated or lost at
 * a join.
 *
 * Every chunk but the first is encoded from a pre-roll of whole segments before its start, which
 * the join drops (concat `inpoint`, at the chunk's first keyframe): x264's rate control and VBV
 * buffer then enter the chunk in the state the one-process encode has there. Without it each
 * chunk starts with a 90 %-full buffer and fresh rate control, and the joined rung drifts from the
 * one-process encode in bytes and SSIM; with a pre-roll of at least the buffer's length and at
 * least 3 s it matches it closely. It costs the pre-roll's encode per chunk, which is why chunks
 * should be long (BENCHMARKS.md, "Chunked encoding and workers").
 * Pure argv builders and plans here; transcode.ts runs them.
 */
import {UserError} from '../errors.js'
import type {PlannedRendition} from './ladder.js'
import {aacArgs, AUDIO_START_AT_ZERO_FILTER, BASE_ARGS, PROGRESS_ARGS, type RungRateControl, stereoAudioFilter} from './ffmpeg-fragments.js'
import type {PicturePlan} from './picture.js'
import {buildTranscodeArgs} from './transcode-args.js'

export interface ChunkPlan {
  index: number
  startSeconds: number
  /** Frames in the chunk; undefined for the last, which runs to the end of the source. */
  frames?: number
  /** Frames encoded before the start to warm up rate control, dropped at the join (0 for the first chunk). */
  prerollFrames: number
}

/**
 * The least pre-roll: x264's rate control settles in 2-3 s. Measured on a 9-s clip in 3-s chunks:
 * the fixed rate (ABR) 0.13 dB off with 1 s, 0.02 dB with 2 s; the capped constant quality (CRF
 * under a half-segment buffer) 0.14-0.17 dB off with 2 s, 0.02-0.03 dB with 3 s.
 */
export const MIN_PREROLL_SECONDS = 3

/**
 * The pre-roll: the ladder's longest VBV buffer (bufsize / maxrate), and at least
 * MIN_PREROLL_SECONDS, rounded up to whole segments so that the chunk's start is one of the
 * pre-roll encode's own keyframes.
 */
export function chunkPrerollSeconds(renditions: readonly Pick<PlannedRendition, 'bufferSizeKbps' | 'maxRateKbps'>[], segmentDurationSeconds: number): number {
  const bufferSeconds = Math.max(MIN_PREROLL_SECONDS, ...renditions.map((rendition) => rendition.bufferSizeKbps / rendition.maxRateKbps))
  return Math.ceil(bufferSeconds / segmentDurationSeconds - 1e-9) * segmentDurationSeconds
}

/** The chunks of a source: whole segments each, the last one taking what is left. */
export function planChunks(options: {durationSeconds: number; frameRate: number; chunkSeconds: number; segmentDurationSeconds: number; prerollSeconds?: number}): ChunkPlan[] {
  const {durationSeconds, frameRate, chunkSeconds, segmentDurationSeconds} = options
  const segmentsPerChunk = chunkSeconds / segmentDurationSeconds
  if (!(chunkSeconds > 0) || Math.abs(segmentsPerChunk - Math.round(segmentsPerChunk)) > 1e-6 || Math.round(segmentsPerChunk) < 1) {
    throw new UserError(`--chunk-seconds must be a whole number of segments (${segmentDurationSeconds} s each); got ${chunkSeconds}`, {
      hint: `Try ${Math.max(1, Math.round(segmentsPerChunk)) * segmentDurationSeconds}.`,
    })
  }

  const framesPerChunk = Math.round(chunkSeconds * frameRate)
  const prerollFrames = Math.round((options.prerollSeconds ?? 0) * frameRate)
  const count = Math.max(1, Math.ceil(durationSeconds / chunkSeconds - 1e-6))
  return Array.from({length: count}, (_, index) => ({
    index,
    startSeconds: (index * framesPerChunk) / frameRate,
    ...(index < count - 1 ? {frames: framesPerChunk} : {}),
    prerollFrames: Math.min(prerollFrames, index * framesPerChunk),
  }))
}

export interface ChunkArgsInput {
  input: string
  renditions: readonly PlannedRendition[]
  /** One output per rendition: the chunk's video for that rung. */
  outputs: readonly string[]
  chunk: ChunkPlan
  frameRate: number
  segmentDurationSeconds: number
  preset: string
  sourcePicture?: {width: number; height: number}
  /** Each rung's rate control (rate-control.ts), as the one-process encode would use. */
  rates?: readonly RungRateControl[]
  /** What the picture needs before scaling (picture.ts), as the one-process encode does it. */
  picture?: PicturePlan
}

/** One chunk's ladder, video only, from its pre-roll: the same encoder settings as the one-process transcode. */
export function buildChunkArgs(options: ChunkArgsInput): string[] {
  const {chunk, frameRate} = options
  const preroll = chunk.prerollFrames ?? 0
  return buildTranscodeArgs({
    input: options.input,
    renditions: options.renditions,
    outputs: options.outputs,
    hasAudio: false,
    frameRate: options.frameRate,
    segmentDurationSeconds: options.segmentDurationSeconds,
    preset: options.preset,
    sourcePicture: options.sourcePicture,
    ...(options.rates ? {rates: options.rates} : {}),
    ...(options.picture ? {picture: options.picture} : {}),
    range: {startSeconds: chunk.startSeconds - preroll / frameRate, ...(chunk.frames === undefined ? {} : {frames: chunk.frames + preroll})},
  })
}

/** The whole file's audio, once: stereo 48 kHz AAC, as the one-process transcode makes it. */
export function buildAudioArgs(input: string, bitrateKbps: number, output: string, channels?: number): string[] {
  return [
    ...BASE_ARGS, ...PROGRESS_ARGS,
    '-i', input,
    '-map', '0:a:0', '-vn',
    '-af', `${stereoAudioFilter(channels)},${AUDIO_START_AT_ZERO_FILTER}`,
    ...aacArgs(bitrateKbps, 'a'),
    '-f', 'mp4', output,
  ]
}

/** A rung's chunks joined by stream copy (concat demuxer over a list file), with the audio muxed in. */
export function buildJoinArgs(listFile: string, audioFile: string | undefined, output: string): string[] {
  return [
    ...BASE_ARGS,
    '-f', 'concat', '-safe', '0', '-i', listFile,
    ...(audioFile ? ['-i', audioFile] : []),
    '-map', '0:v:0',
    ...(audioFile ? ['-map', '1:a:0'] : []),
    '-c', 'copy',
    // No +faststart: like the one-process transcode's, these are intermediate files for `segment`,
    // and moving the index to the front would rewrite each rung once more.
    '-f', 'mp4', output,
  ]
}

/** The concat demuxer's list: one `file` line per chunk, quoted for its syntax, with an `inpoint` past its pre-roll. */
export function concatList(files: readonly string[], prerollSeconds: readonly number[] = []): string {
  return files.map((file, index) => {
    const inpoint = prerollSeconds[index] ?? 0
    return `file '${file.replace(/'/g, "'\\''")}'\n${inpoint > 0 ? `inpoint ${inpoint.toFixed(6)}\n` : ''}`
  }).join('')
}

/** One chunk's encode as data: what a queue worker needs to run it. */
export interface ChunkTask extends ChunkArgsInput {
  /** Identifies the transcode it belongs to (for job ids). */
  key: string
  /**
   * For workers on other machines: the input is read from this storage URI (instead of `input`,
   * a path on the machine that split the job), and each output is put under `outputUri` by its
   * file name (instead of at `outputs`), for that machine to fetch. Without it the paths must be
   * on a disk every chunk worker sees (one machine, or a shared mount).
   */
  shared?: {inputUri: string; outputUri: string}
}

/** Runs a chunk's encode somewhere: in this process by default, or on the queue's workers. */
export type ChunkEncoder = (task: ChunkTask, signal?: AbortSignal) => Promise<void>
