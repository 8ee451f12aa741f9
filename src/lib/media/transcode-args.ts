/**
 * The ffmpeg argv for a whole ladder in one process: decode once, `split` the picture to every
 * rung, encode each with aligned closed GOPs. Pure: returns string[], runs nothing.
 */
import type {PlannedRendition} from './ladder.js'

export interface TranscodeArgsInput {
  input: string
  renditions: readonly PlannedRendition[]
  /** One output path per rendition, same order. */
  outputs: readonly string[]
  hasAudio: boolean
  frameRate: number
  segmentDurationSeconds: number
  preset: string
  /** Extra x264 tuning, e.g. "zerolatency" for live. */
  tune?: string
}

/** GOP length in frames for a segment duration: one keyframe at every segment boundary. */
export function gopFrames(frameRate: number, segmentDurationSeconds: number): number {
  return Math.max(1, Math.round(frameRate * segmentDurationSeconds))
}

/** The filter graph: one decode, one split for video, one resample + asplit for audio. */
export function buildLadderFilterGraph(renditions: readonly PlannedRendition[], hasAudio: boolean): string {
  const count = renditions.length
  const videoTaps = renditions.map((_, index) => `[v${index}in]`).join('')
  const chains = [`[0:v:0]split=${count}${videoTaps}`]
  renditions.forEach((rendition, index) => {
    // format after scale lets swscale convert while it scales (10-bit/4:2:2 sources -> 4:2:0 for
    // every H.264 profile). No setsar: scale sets each rung's SAR so that every rung keeps the
    // source's display aspect ratio exactly (854x480 gets 1280:1281), which the DASH muxer requires
    // of all representations in one adaptation set.
    chains.push(`[v${index}in]scale=${rendition.width}:${rendition.pixelHeight},format=yuv420p[v${index}]`)
  })
  if (hasAudio) {
    const audioTaps = renditions.map((_, index) => `[a${index}]`).join('')
    // aformat to stereo 48 kHz downmixes 5.1 and upmixes mono once, before the copies.
    chains.push(`[0:a:0]aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,asplit=${count}${audioTaps}`)
  }

  return chains.join(';')
}

export function buildTranscodeArgs(options: TranscodeArgsInput): string[] {
  if (options.renditions.length !== options.outputs.length) throw new Error('one output path per rendition is required')
  const gop = String(gopFrames(options.frameRate, options.segmentDurationSeconds))
  const args = [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-loglevel', 'warning',
    // key=value progress blocks on stdout, no stats line on stderr.
    '-nostats',
    '-progress', 'pipe:1',
    '-i', options.input,
    '-filter_complex', buildLadderFilterGraph(options.renditions, options.hasAudio),
  ]

  options.renditions.forEach((rendition, index) => {
    args.push('-map', `[v${index}]`)
    if (options.hasAudio) args.push('-map', `[a${index}]`)
    args.push(
      '-c:v', 'libx264',
      '-preset', options.preset,
      ...(options.tune ? ['-tune', options.tune] : []),
      '-profile:v', rendition.profile,
      '-b:v', `${rendition.videoBitrateKbps}k`,
      '-maxrate', `${rendition.maxRateKbps}k`,
      '-bufsize', `${rendition.bufferSizeKbps}k`,
      // Closed GOPs of exactly one segment: same frame count in every rung (they share one decode),
      // no scene-cut keyframes in between, and forced keyframes by time so the boundaries are exact.
      '-g', gop,
      '-keyint_min', gop,
      '-sc_threshold', '0',
      '-force_key_frames', `expr:gte(t,n_forced*${options.segmentDurationSeconds})`,
      '-x264-params', 'open-gop=0',
    )
    if (options.hasAudio) args.push('-c:a', 'aac', '-b:a', `${rendition.audioBitrateKbps}k`)
    args.push('-f', 'mp4', options.outputs[index] as string)
  })

  return args
}
