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

/**
 * The picture each rung is scaled from: the smallest other rung at least twice its width and
 * height, else the decoded source (undefined). Measured on a 1080p source (BENCHMARKS.md): 144p
 * scaled from 480p instead of 1080p reads a ninth of the pixels and came out no worse (SSIM against
 * a lanczos downscale of the source), while 480p from 720p, less than twice smaller, lost 0.2 dB, so
 * such a rung is scaled from the source.
 */
export function scaleParents(renditions: readonly PlannedRendition[]): Array<number | undefined> {
  return renditions.map((rendition) => {
    let parent: number | undefined
    renditions.forEach((candidate, index) => {
      if (candidate.width < 2 * rendition.width || candidate.pixelHeight < 2 * rendition.pixelHeight) return
      const best = parent === undefined ? undefined : renditions[parent]
      if (!best || candidate.width * candidate.pixelHeight < best.width * best.pixelHeight) parent = index
    })
    return parent
  })
}

/**
 * The video part of a ladder's filter graph: the decoded picture split to the rungs scaled from the
 * source, and each rung split again to the rungs scaled from it. Rung i is `[vi]`.
 */
export function buildVideoLadderChains(renditions: readonly PlannedRendition[]): string[] {
  const parents = scaleParents(renditions)
  const childrenOf = (parent: number | undefined) => renditions.flatMap((_, index) => (parents[index] === parent ? [index] : []))
  const taps = (indices: number[]) => indices.map((index) => `[v${index}in]`).join('')
  const fromSource = childrenOf(undefined)
  const chains = [`[0:v:0]split=${fromSource.length}${taps(fromSource)}`]
  renditions.forEach((rendition, index) => {
    // format after scale lets swscale convert while it scales (10-bit/4:2:2 sources -> 4:2:0 for
    // every H.264 profile). No setsar: scale sets each rung's SAR so that every rung keeps the
    // source's display aspect ratio exactly (854x480 gets 1280:1281), which the DASH muxer requires
    // of all representations in one adaptation set; scaling from a rung keeps it as well.
    const children = childrenOf(index)
    const scaled = `[v${index}in]scale=${rendition.width}:${rendition.pixelHeight},format=yuv420p`
    chains.push(children.length === 0 ? `${scaled}[v${index}]` : `${scaled},split=${children.length + 1}[v${index}]${taps(children)}`)
  })
  return chains
}

/** The filter graph: one decode, the video ladder, one resample + asplit for audio. */
export function buildLadderFilterGraph(renditions: readonly PlannedRendition[], hasAudio: boolean): string {
  const chains = buildVideoLadderChains(renditions)
  if (hasAudio) {
    const audioTaps = renditions.map((_, index) => `[a${index}]`).join('')
    // aformat to stereo 48 kHz downmixes 5.1 and upmixes mono once, before the copies.
    chains.push(`[0:a:0]aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,asplit=${renditions.length}${audioTaps}`)
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
