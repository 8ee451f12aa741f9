/**
 * How each rung's bits are spent, decided in one place for VOD (transcode, chunks) and live. Pure.
 *
 * - `cbr-ish`: the rung's fixed average bit rate under its cap (livectl's original ladder: what
 *   players and CDNs that want predictable rates expect, and what live uses).
 * - `capped-crf`: a constant quality per rung (x264 CRF) under the same cap and buffer, so a static
 *   picture costs little and a hard one never goes above the cap.
 * - `per-title`: a complexity probe of this source (complexity-probe.ts: a low-resolution CRF
 *   encode of a few sampled stretches) predicts each rung's bit rate at every CRF; each rung gets
 *   the best quality (lowest CRF, down to a floor where more bits stop showing) whose predicted
 *   average stays within the rung's nominal rate, never above capped-crf's CRF, under the rung's
 *   cap. Easy content gets a high quality for a fraction of the fixed rate; hard content gets
 *   capped-crf's, where the cap decides. The default ladder's caps bound it. What each mode saves
 *   and costs: BENCHMARKS.md, "Content-adaptive ladders".
 */
import {UserError} from '../errors.js'
import type {EncoderAnalysis, RungRateControl} from './ffmpeg-fragments.js'
import type {PlannedRendition, Rung} from './ladder.js'
import type {X264Preset} from './encoder-settings.js'

export const RATE_CONTROL_MODES = ['cbr-ish', 'capped-crf', 'per-title'] as const
export type RateControlMode = (typeof RATE_CONTROL_MODES)[number]

/**
 * What `transcode` and `run` use without --rate-control: capped-crf, which the benchmark measured
 * as the most bits saved at matched quality over five kinds of content, every peak within its cap,
 * at the fixed ladder's encode time (BENCHMARKS.md, "Content-adaptive ladders"). per-title spends
 * its rung's rate on easy content, where more bits bought little SSIM.
 */
export const DEFAULT_RATE_CONTROL: RateControlMode = 'capped-crf'

export function parseRateControl(value: string | undefined): RateControlMode {
  if (value === undefined) return DEFAULT_RATE_CONTROL
  if ((RATE_CONTROL_MODES as readonly string[]).includes(value)) return value as RateControlMode
  throw new UserError(`Unknown rate control "${value}"`, {hint: `Use one of: ${RATE_CONTROL_MODES.join(', ')}.`})
}

/** The rung's fixed bit rate under its cap: `cbr-ish`. */
export function fixedRate(rung: Pick<Rung, 'videoBitrateKbps' | 'maxRateKbps' | 'bufferSizeKbps'>): RungRateControl {
  return {mode: 'abr', bitrateKbps: rung.videoBitrateKbps, maxRateKbps: rung.maxRateKbps, bufferSizeKbps: rung.bufferSizeKbps}
}

/** `capped-crf`'s quality target: x264's default CRF. */
export const CAPPED_CRF = 23

/**
 * The capped modes' VBV, sized so that no segment goes above the rung's cap (HLS BANDWIDTH then
 * stays within the ladder's max rate). Over any stretch of T seconds, x264's VBV lets through at
 * most the max rate for T plus a full buffer; with a buffer of B seconds at the max rate, a
 * segment's rate is at most max rate x (1 + B/T). So the max rate is the cap / (1 + b) for a
 * buffer of b segments: whatever the content, a segment stays at or under the cap.
 *
 * Why a quarter of a segment (BENCHMARKS.md, "Content-adaptive ladders"): half a segment under
 * most of the cap (the earlier setting) let a hard rung run over its cap once an easier stretch had
 * refilled the buffer; a sixteenth starves the encode; an eighth and a quarter save the same bits
 * at matched quality, and the quarter is kinder to small rungs, where a keyframe is a large share
 * of the buffer.
 */
export const CAP_BUFFER_SEGMENTS = 0.25

/** x264's own trellis and rate-control lookahead for each of transcode's presets (x264 --fullhelp). */
const PRESET_ANALYSIS: Readonly<Record<X264Preset, Required<EncoderAnalysis>>> = {
  ultrafast: {trellis: 0, lookaheadFrames: 0},
  superfast: {trellis: 0, lookaheadFrames: 0},
  veryfast: {trellis: 0, lookaheadFrames: 10},
  faster: {trellis: 1, lookaheadFrames: 20},
  fast: {trellis: 1, lookaheadFrames: 30},
  medium: {trellis: 1, lookaheadFrames: 40},
  slow: {trellis: 1, lookaheadFrames: 50},
  slower: {trellis: 2, lookaheadFrames: 60},
  veryslow: {trellis: 2, lookaheadFrames: 60},
}

/**
 * The analysis the capped modes raise a preset to: trellis quantisation and a 30-frame lookahead.
 * A capped rung on hard content runs at its max rate, where the VBV rather than the CRF sets each
 * frame's quantiser; trellis spends those bits better and the longer lookahead plans the VBV.
 * Measured against the fixed ladder at matched SSIM (BENCHMARKS.md, "Content-adaptive ladders"):
 * more bits saved on every kind but film grain, the small rungs that lost now save or break even,
 * at the same encode time. On film grain (temporal noise) trellis costs SSIM.
 */
export const CAPPED_ANALYSIS: Required<EncoderAnalysis> = {trellis: 1, lookaheadFrames: 30}

/**
 * What the capped modes set above the preset's own analysis: never less than the preset does, and
 * nothing for ultrafast and superfast (no lookahead at all: whoever picks them wants speed).
 */
export function cappedAnalysis(preset: string): EncoderAnalysis | undefined {
  const own = (PRESET_ANALYSIS as Readonly<Record<string, Required<EncoderAnalysis> | undefined>>)[preset]
  if (!own || own.lookaheadFrames === 0) return undefined
  const raised: EncoderAnalysis = {
    ...(own.trellis < CAPPED_ANALYSIS.trellis ? {trellis: CAPPED_ANALYSIS.trellis} : {}),
    ...(own.lookaheadFrames < CAPPED_ANALYSIS.lookaheadFrames ? {lookaheadFrames: CAPPED_ANALYSIS.lookaheadFrames} : {}),
  }
  return Object.keys(raised).length > 0 ? raised : undefined
}

/** The encode settings the capped modes share with each rung's CRF. */
export interface CappedSettings {
  segmentDurationSeconds: number
  /** The x264 preset, whose analysis cappedAnalysis raises. */
  preset: string
}

function capped(rung: Pick<Rung, 'maxRateKbps'>, crf: number, settings: CappedSettings): RungRateControl {
  const maxRateKbps = Math.floor(rung.maxRateKbps / (1 + CAP_BUFFER_SEGMENTS))
  const analysis = cappedAnalysis(settings.preset)
  return {mode: 'crf', crf, maxRateKbps, bufferSizeKbps: Math.floor(maxRateKbps * settings.segmentDurationSeconds * CAP_BUFFER_SEGMENTS), ...(analysis ? {analysis} : {})}
}

export function cappedCrfRate(rung: Pick<Rung, 'maxRateKbps'>, settings: CappedSettings): RungRateControl {
  return capped(rung, CAPPED_CRF, settings)
}

/** The sampled stretches' video bit rate at each probe CRF, at one picture size. */
export interface ProbeSize {
  width: number
  height: number
  /** At least two points, any order. */
  points: ReadonlyArray<{crf: number; bitrateKbps: number}>
}

/**
 * What the complexity probe measured, at one or two picture sizes (largest first). Two sizes say
 * how this content's bit rate grows with the picture: film grain shrinks away when scaled down,
 * a sharp picture does not.
 */
export interface ComplexityProbe {
  sizes: readonly ProbeSize[]
}

/** per-title: the best quality it chooses (more bits below this CRF stop showing). */
export const PER_TITLE_CRF_FLOOR = 16
/** per-title: the lowest quality it chooses: capped-crf's (where the content needs more than the rate, the cap decides). */
export const PER_TITLE_CRF_CEILING = CAPPED_CRF
/** per-title: the share of the rung's nominal rate the predicted average may use. */
export const PER_TITLE_BUDGET = 1
/** How a rung's bit rate grows with its pixel count at a given CRF, without a second probe size; and the range a measured one is held to. */
const PIXEL_EXPONENT = 0.75
const PIXEL_EXPONENT_RANGE = [0.4, 1.2] as const

/** The bit rate at one probe size at a CRF, log-linear between (and beyond) its points. */
export function predictProbeBitrate(size: ProbeSize, crf: number): number {
  const points = [...size.points].sort((a, b) => a.crf - b.crf)
  if (points.length < 2) throw new Error('a complexity probe needs two CRF points')
  const lower = points.findLast((point, index) => point.crf <= crf && index < points.length - 1) ?? points[0]!
  const upper = points[points.indexOf(lower) + 1]!
  const slope = (Math.log2(Math.max(upper.bitrateKbps, 0.01)) - Math.log2(Math.max(lower.bitrateKbps, 0.01))) / (upper.crf - lower.crf)
  return 2 ** (Math.log2(Math.max(lower.bitrateKbps, 0.01)) + slope * (crf - lower.crf))
}

/** A rung's predicted average video bit rate at a CRF, from the probe scaled to the rung's picture. */
export function predictRungBitrate(probe: ComplexityProbe, rendition: Pick<PlannedRendition, 'width' | 'pixelHeight'>, crf: number): number {
  const [large, small] = probe.sizes
  if (!large) throw new Error('a complexity probe needs a size')
  const pixels = (size: {width: number; height: number}) => size.width * size.height
  const largeRate = predictProbeBitrate(large, crf)
  let exponent = PIXEL_EXPONENT
  if (small && pixels(small) < pixels(large)) {
    const measured = Math.log(largeRate / predictProbeBitrate(small, crf)) / Math.log(pixels(large) / pixels(small))
    if (Number.isFinite(measured)) exponent = Math.min(PIXEL_EXPONENT_RANGE[1], Math.max(PIXEL_EXPONENT_RANGE[0], measured))
  }

  return largeRate * ((rendition.width * rendition.pixelHeight) / pixels(large)) ** exponent
}

/** per-title: each rung's CRF (the lowest from the floor up whose predicted average fits the rung's nominal rate) under its cap. */
export function choosePerTitle(probe: ComplexityProbe, renditions: readonly PlannedRendition[], settings: CappedSettings): RungRateControl[] {
  return renditions.map((rendition) => {
    let crf = PER_TITLE_CRF_FLOOR
    while (crf < PER_TITLE_CRF_CEILING && predictRungBitrate(probe, rendition, crf) > PER_TITLE_BUDGET * rendition.videoBitrateKbps) crf += 1
    return capped(rendition, crf, settings)
  })
}

/** The rates for a mode; per-title needs its probe. */
export function planRates(mode: RateControlMode, renditions: readonly PlannedRendition[], options: CappedSettings & {probe?: ComplexityProbe}): RungRateControl[] {
  if (mode === 'cbr-ish') return renditions.map((rendition) => fixedRate(rendition))
  if (mode === 'capped-crf') return renditions.map((rendition) => cappedCrfRate(rendition, options))
  if (!options.probe) throw new Error('per-title rate control needs a complexity probe')
  return choosePerTitle(options.probe, renditions, options)
}
