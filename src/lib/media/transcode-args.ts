/**
 * The ffmpeg argv for a whole ladder in one process: decode once, `split` the picture to every
 * rung, encode each with aligned closed GOPs. Pure: returns string[], runs nothing.
 */
import {aacArgs, AUDIO_START_AT_ZERO_FILTER, BASE_ARGS, closedGopArgs, PROGRESS_ARGS, rateControlArgs, type RungRateControl, stereoAudioFilter} from './ffmpeg-fragments.js'
import type {PlannedRendition} from './ladder.js'
import {canvasChain, colourLutApply, colourLutSource, colourTagArgs, type PicturePlan, type RungColour, rungColour, rungFrameRate, scaleColourOptions, sourcePictureFilters} from './picture.js'
import {fixedRate} from './rate-control.js'

export {gopFrames} from './ffmpeg-fragments.js'

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
  /** Size of the decoded (autorotated) picture, so that a rung of that size counts as the source. */
  sourcePicture?: {width: number; height: number}
  /** Only this stretch of the source (a chunk): from a frame-exact start, this many frames (all to the end when absent). */
  range?: {startSeconds: number; frames?: number}
  /** Each rung's rate control, same order as renditions (default: the rung's fixed bit rate, "cbr-ish"). */
  rates?: readonly RungRateControl[]
  /** What the picture needs before scaling (picture.ts); frameRate is then its output rate. */
  picture?: PicturePlan
  /** The source's audio channels (mono is upmixed at full level). */
  audioChannels?: number
}

export interface ScaleStep {
  /** Index of the rung whose picture this rung is scaled from; undefined: the decoded source. */
  from?: number
  /** Lanczos instead of swscale's default bicubic: for a step that resamples a resampled picture by less than 2x. */
  lanczos: boolean
}

/**
 * Where each rung's picture comes from: the smallest other rung larger than it (a rung of exactly the
 * source's size is the source picture itself and is not counted), else the decoded source. Scaling
 * down a smaller picture is cheaper (less CPU for decoding and scaling the default ladder than with
 * every rung scaled from the source). A picture scaled twice by bicubic comes out softer, so a step
 * of less than 2x from another rung uses lanczos, which measured closer to a sharp reference than
 * the direct bicubic scale it replaces (BENCHMARKS.md, "Transcode").
 */
export function planScaling(renditions: readonly PlannedRendition[], sourcePicture?: {width: number; height: number}): ScaleStep[] {
  const isSource = (rendition: PlannedRendition) => rendition.width === sourcePicture?.width && rendition.pixelHeight === sourcePicture?.height
  const area = (rendition: PlannedRendition) => rendition.width * rendition.pixelHeight
  return renditions.map((rendition) => {
    let from: number | undefined
    renditions.forEach((candidate, index) => {
      if (candidate === rendition || isSource(candidate)) return
      if (candidate.width < rendition.width || candidate.pixelHeight < rendition.pixelHeight || area(candidate) <= area(rendition)) return
      if (from === undefined || area(candidate) < area(renditions[from] as PlannedRendition)) from = index
    })
    const parent = from === undefined ? undefined : renditions[from]
    return {from, lanczos: parent !== undefined && (parent.width < 2 * rendition.width || parent.pixelHeight < 2 * rendition.pixelHeight)}
  })
}

/**
 * The video part of a ladder's filter graph: the decoded picture made ready (picture.ts: fitted to a
 * canvas, deinterlaced, at the output rate, converted to BT.709 SDR) and split to the rungs scaled
 * from the source, and each rung split again to the rungs scaled from it. Rung i is `[vi]`.
 */
export function buildVideoLadderChains(renditions: readonly PlannedRendition[], sourcePicture?: {width: number; height: number}, picture?: PicturePlan): string[] {
  const steps = planScaling(renditions, picture?.canvas ?? sourcePicture)
  const childrenOf = (parent: number | undefined) => renditions.flatMap((_, index) => (steps[index]?.from === parent ? [index] : []))
  const taps = (indices: number[]) => indices.map((index) => `[v${index}in]`).join('')
  const fromSource = childrenOf(undefined)
  const chains: string[] = []
  let input = '[0:v:0]'
  let filters: string[] = []
  if (picture) {
    if (picture.canvas) {
      chains.push(canvasChain(picture.canvas, picture.frameRate, '0:v:0', 'canvas', {interlaced: picture.deinterlace}))
      input = '[canvas]'
    }

    filters = sourcePictureFilters(picture)
    if (picture.colourConverted) {
      chains.push(`${colourLutSource(picture)}[lut]`, `${input}${filters.length > 0 ? filters.join(',') : 'null'}[picture]`, colourLutApply(picture, 'picture', 'lut', 'sdr'))
      input = '[sdr]'
      filters = []
    }
  }

  chains.push(`${input}${[...filters, `split=${fromSource.length}`].join(',')}${taps(fromSource)}`)
  // The first scale of each rung from the source turns its matrix and range into the rung's
  // (rungColour); a rung scaled from another rung has that rung's already.
  const colours = picture ? ladderColours(renditions, sourcePicture, picture) : undefined
  const colourOptions = (index: number) => {
    const colour = colours?.[index]
    if (!picture || !colour) return ''
    const from = steps[index]?.from
    const input = from !== undefined ? {matrix: (colours?.[from] as RungColour).matrix, range: 'tv'} : picture.colourConverted ? {matrix: 'bt709', range: 'tv'} : picture.sourceColour
    return scaleColourOptions(input, colour)
  }

  renditions.forEach((rendition, index) => {
    // format after scale lets swscale convert while it scales (10-bit/4:2:2 sources -> 4:2:0 for
    // every H.264 profile). No setsar: scale sets each rung's SAR so that every rung keeps the
    // source's display aspect ratio exactly (854x480 gets 1280:1281), which the DASH muxer requires
    // of all representations in one adaptation set; scaling from a rung keeps it as well.
    const children = childrenOf(index)
    const step = steps[index]
    const flags = step?.lanczos ? ':flags=lanczos' : ''
    const rate = picture ? rungFrameRate(picture, rendition.shortSide) : undefined
    const reduced = rate && picture && rate.ratio !== picture.frameRate.ratio ? `,fps=${rate.ratio}` : ''
    const scaled = `[v${index}in]scale=${rendition.width}:${rendition.pixelHeight}${flags}${colourOptions(index)},format=yuv420p${reduced}`
    chains.push(children.length === 0 ? `${scaled}[v${index}]` : `${scaled},split=${children.length + 1}[v${index}]${taps(children)}`)
  })
  return chains
}

/** Each rung's colour (picture.ts rungColour), following the scaling tree: a rung scaled from another has its colour. */
export function ladderColours(renditions: readonly PlannedRendition[], sourcePicture: {width: number; height: number} | undefined, picture: PicturePlan): RungColour[] {
  const steps = planScaling(renditions, picture.canvas ?? sourcePicture)
  const colourOf = (index: number): RungColour => {
    const from = steps[index]?.from
    return from === undefined ? rungColour(picture, (renditions[index] as PlannedRendition).shortSide) : colourOf(from)
  }

  return renditions.map((_, index) => colourOf(index))
}

/**
 * The audio part: stereo 48 kHz, starting at 0 with the picture (silence before a late first
 * sample) and kept on its timestamps, split to the rungs. A graph of its own, so that a change of
 * sample rate part-way, which makes ffmpeg rebuild the graph its stream is in, leaves the picture's alone.
 */
export function buildLadderAudioGraph(outputs: number, channels?: number): string {
  const audioTaps = Array.from({length: outputs}, (_, index) => `[a${index}]`).join('')
  return `[0:a:0]${stereoAudioFilter(channels)},${AUDIO_START_AT_ZERO_FILTER},asplit=${outputs}${audioTaps}`
}

export function buildTranscodeArgs(options: TranscodeArgsInput): string[] {
  if (options.renditions.length !== options.outputs.length) throw new Error('one output path per rendition is required')
  const args = [
    ...BASE_ARGS,
    ...PROGRESS_ARGS,
    // A chunk: seek before the input (fast, and exact: frames before the start are decoded and dropped).
    ...(options.range ? ['-ss', options.range.startSeconds.toFixed(6)] : []),
    // A picture size that changes part-way: the canvas's scale adapts to each size (picture.ts).
    ...(options.picture?.canvas ? ['-reinit_filter:v', '0'] : []),
    '-i', options.input,
    '-filter_complex', buildVideoLadderChains(options.renditions, options.sourcePicture, options.picture).join(';'),
    ...(options.hasAudio ? ['-filter_complex', buildLadderAudioGraph(options.renditions.length, options.audioChannels)] : []),
  ]

  options.renditions.forEach((rendition, index) => {
    const rungRate = options.picture ? rungFrameRate(options.picture, rendition.shortSide).fps : options.frameRate
    args.push('-map', `[v${index}]`)
    if (options.hasAudio) args.push('-map', `[a${index}]`)
    args.push(
      '-c:v', 'libx264',
      '-preset', options.preset,
      ...(options.tune ? ['-tune', options.tune] : []),
      '-profile:v', rendition.profile,
      ...rateControlArgs(options.rates?.[index] ?? fixedRate(rendition)),
      // Keyframes on segment boundaries, the same times in every rung (a reduced-rate rung has half the frames).
      ...closedGopArgs(rungRate, options.segmentDurationSeconds),
      ...(options.picture ? colourTagArgs(ladderColours(options.renditions, options.sourcePicture, options.picture)[index] as RungColour) : []),
    )
    if (options.hasAudio) args.push(...aacArgs(rendition.audioBitrateKbps, 'a'))
    // Frames are counted at the source's output rate; a rung at a reduced rate has fewer.
    if (options.range?.frames !== undefined) args.push('-frames:v', String(Math.round((options.range.frames * rungRate) / options.frameRate)))
    args.push('-f', 'mp4', options.outputs[index] as string)
  })

  return args
}
