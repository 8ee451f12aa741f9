/**
 * What the picture needs before the ladder scales it, decided from what the source is: interlaced
 * fields woven into frames, HDR (PQ, HLG) or BT.2020 colour, a variable or high frame rate, a size
 * that changes part-way. Pure: decisions and filter strings; the passes that look at the pictures
 * (idet, the keyframe sizes) live in source-analysis.ts.
 *
 * Every rung comes out progressive, constant-rate, 8-bit 4:2:0 limited range, BT.709 (an SD rung of
 * a BT.601 source keeps BT.601), and is tagged so (colourTagArgs): a player never has to guess, and
 * never gets an 8-bit H.264 that says PQ.
 */
import {UserError} from '../errors.js'

export const DEINTERLACE_MODES = ['auto', 'on', 'off'] as const
export type DeinterlaceMode = (typeof DEINTERLACE_MODES)[number]

export function parseDeinterlaceMode(value: string): DeinterlaceMode {
  if (!(DEINTERLACE_MODES as readonly string[]).includes(value)) {
    throw new UserError(`Unknown --deinterlace "${value}"`, {hint: `Use one of: ${DEINTERLACE_MODES.join(', ')}`})
  }

  return value as DeinterlaceMode
}

/** The colour description as ffprobe names it (color_primaries, color_transfer, color_space, color_range). */
export interface ColourFacts {
  primaries?: string
  transfer?: string
  matrix?: string
  range?: string
}

export interface FrameRate {
  /** For ffmpeg, exact: "30000/1001". */
  ratio: string
  fps: number
}

export type HdrTransfer = 'pq' | 'hlg'

export interface PictureFacts {
  /** Decoded picture size, after autorotation. */
  width: number
  height: number
  /** Shown size (sample aspect ratio applied, rotation honoured). */
  displayWidth: number
  displayHeight: number
  pixelFormat?: string
  colour?: ColourFacts
  /** ffprobe's field_order: progressive, tt, bb, tb, bt, unknown or absent. */
  fieldOrder?: string
  frameRate: number
  /** The rate the rungs run at, from the stream's nominal rate (see nominalFrameRate). */
  outputFrameRate?: FrameRate
  variableFrameRate?: boolean
}

/** What a look at the pictures found (source-analysis.ts); absent where it was not needed. */
export interface PictureAnalysis {
  /** idet over the first frames: interlaced frames against progressive ones. */
  interlaced?: {detected: boolean; interlacedFrames: number; progressiveFrames: number; topFieldFirst?: boolean}
  /** Distinct picture sizes met at the keyframes, in order. */
  sizes?: Array<{width: number; height: number}>
}

/** Recorded in renditions.json: what was done to the picture, and why. */
export interface PicturePlan {
  deinterlace: boolean
  /** field-order (the stream says interlaced), idet (the pictures are), forced (--deinterlace on), or none. */
  deinterlaceReason: 'field-order' | 'idet' | 'forced' | 'none'
  /** The field order where the frames do not carry it (idet found the fields in frames marked progressive). */
  fieldParity?: 'tff' | 'bff'
  /** The HDR transfer that was tone-mapped to SDR. */
  toneMapped?: HdrTransfer
  /** The source's colour as read, with what was guessed where it said nothing. */
  sourceColour: Required<ColourFacts>
  /** Primaries or transfer converted to BT.709 through a colour LUT (HDR, BT.2020). */
  colourConverted: boolean
  frameRate: FrameRate
  /** Rungs of 480p and below run at this rate (a source above 30 fps). */
  reducedFrameRate?: FrameRate
  variableFrameRate: boolean
  /** Live: frames pass at the times they came (no fps filter, which would hold one back). */
  keepFrameTiming?: boolean
  /** The size every picture is fitted into (letterboxed) when the size changes part-way. */
  canvas?: {width: number; height: number}
}

/** Rates a recording is made at; a nominal rate near one of these is taken as exactly it. */
const STANDARD_RATES: ReadonlyArray<[number, number]> = [
  [24_000, 1001], [24, 1], [25, 1], [30_000, 1001], [30, 1], [48, 1], [50, 1], [60_000, 1001], [60, 1], [100, 1], [120, 1],
]
/** Integer rates to round a variable rate up to when the stream's own nominal rate says nothing. */
const FALLBACK_RATES = [24, 25, 30, 50, 60] as const

function ratio(numerator: number, denominator: number): FrameRate {
  const fps = numerator / denominator
  return {ratio: denominator === 1 ? String(numerator) : `${numerator}/${denominator}`, fps: Math.round(fps * 1000) / 1000}
}

function parseRational(value: string | undefined): [number, number] | undefined {
  if (!value) return undefined
  const [fraction = 0, denominator = 1] = value.split('/').map(Number)
  // A decimal rate ("29.97") as a fraction of whole numbers.
  if (!Number.isInteger(fraction)) return fraction > 0 && denominator === 1 ? [Math.round(fraction * 1000), 1000] : undefined
  const numerator = fraction
  if (!numerator || !denominator || !Number.isFinite(numerator) || !Number.isFinite(denominator) || numerator <= 0 || denominator <= 0) return undefined
  return [numerator, denominator]
}

/**
 * The constant rate the rungs run at. A stream's r_frame_rate is its nominal rate (30 for a phone
 * that recorded 30 fps with gaps, whose average may be 21.6); near a standard rate it is that rate
 * exactly. Where it is no frame rate at all (a WebRTC or MKV recording says 1000/1 or 90000/1),
 * the average rounded up to a common integer rate stands in.
 */
export function nominalFrameRate(rFrameRate: string | undefined, avgFrameRate: string | undefined): {rate: FrameRate; variable: boolean} {
  const nominal = parseRational(rFrameRate)
  const average = parseRational(avgFrameRate)
  const averageFps = average ? average[0] / average[1] : undefined
  const nominalFps = nominal ? nominal[0] / nominal[1] : undefined
  const variable = (rate: number) => averageFps !== undefined && Math.abs(averageFps - rate) / rate > 0.005
  // Interlaced H.264 in MPEG-TS often states its field rate (50) beside a frame rate of 25.
  const fieldRate = averageFps !== undefined && nominalFps !== undefined && Math.abs(nominalFps / averageFps - 2) < 0.01
  const averageStandard = averageFps === undefined ? undefined : STANDARD_RATES.find(([numerator, denominator]) => Math.abs(numerator / denominator - averageFps) / averageFps < 2e-4)
  if (fieldRate && averageStandard) return {rate: ratio(...averageStandard), variable: false}
  if (nominal && nominalFps !== undefined && nominalFps >= 1 && nominalFps <= 120) {
    const standard = STANDARD_RATES.find(([numerator, denominator]) => Math.abs(numerator / denominator - nominalFps) / nominalFps < 2e-4)
    const rate = standard ? ratio(...standard) : ratio(...nominal)
    return {rate, variable: variable(rate.fps)}
  }

  if (averageFps !== undefined && averageFps >= 1) {
    // An average of 29.97 is a 29.97 stream, not a 30 one with gaps.
    if (averageStandard) return {rate: ratio(...averageStandard), variable: false}
    const rounded = FALLBACK_RATES.find((rate) => rate >= averageFps * 0.97) ?? 60
    return {rate: ratio(rounded, 1), variable: true}
  }

  return {rate: ratio(25, 1), variable: false}
}

/** The transfer that makes a source HDR, if it is one. */
export function hdrTransfer(colour: ColourFacts | undefined): HdrTransfer | undefined {
  if (colour?.transfer === 'smpte2084') return 'pq'
  if (colour?.transfer === 'arib-std-b67') return 'hlg'
  return undefined
}

/**
 * The source's colour with the gaps filled as players fill them: an untagged HD picture is BT.709,
 * an untagged SD one BT.601 (525 lines at 480 and under 30 fps... both SD primaries convert the same
 * way here, since only the matrix is converted for them); a yuvj format is full range.
 */
export function sourceColour(picture: Pick<PictureFacts, 'width' | 'height' | 'pixelFormat' | 'colour'>): Required<ColourFacts> {
  const colour = picture.colour ?? {}
  const hd = Math.max(picture.width, picture.height) >= 1280 || Math.min(picture.width, picture.height) >= 720
  const known = (value: string | undefined) => (value && value !== 'unknown' && value !== 'reserved' ? value : undefined)
  // An RGB source (lossless screen capture, an image sequence) has no matrix: swscale makes the YUV.
  if (colour.matrix === 'gbr' || /^(rgb|bgr|gbr|argb|abgr|rgba|bgra|0rgb|rgb0|0bgr|bgr0|x2rgb|x2bgr|pal8)/.test(picture.pixelFormat ?? '')) {
    return {primaries: known(colour.primaries) ?? 'bt709', transfer: known(colour.transfer) ?? 'bt709', matrix: 'gbr', range: 'pc'}
  }

  const matrix = known(colour.matrix) ?? (known(colour.primaries) === 'bt2020' ? 'bt2020nc' : hd ? 'bt709' : 'smpte170m')
  const primaries = known(colour.primaries) ?? (matrix.startsWith('bt2020') ? 'bt2020' : hd ? 'bt709' : 'smpte170m')
  const transfer = known(colour.transfer) ?? (primaries === 'bt2020' ? 'bt2020-10' : 'bt709')
  const range = known(colour.range) ?? (picture.pixelFormat?.startsWith('yuvj') ? 'pc' : 'tv')
  return {primaries, transfer, matrix, range}
}

/** swscale's name for a matrix (in_color_matrix / out_color_matrix). */
export function swscaleMatrix(matrix: string): 'bt709' | 'bt601' | 'bt2020' | 'smpte240m' | 'fcc' {
  if (matrix.startsWith('bt2020')) return 'bt2020'
  if (matrix === 'bt709') return 'bt709'
  if (matrix === 'smpte240m') return 'smpte240m'
  if (matrix === 'fcc') return 'fcc'
  return 'bt601'
}

/** zimg's name for a matrix (zscale min=), for the conversion of a source to RGB. */
function zimgMatrix(matrix: string): string {
  if (matrix === 'bt2020c') return '2020_cl'
  if (matrix.startsWith('bt2020')) return '2020_ncl'
  if (matrix === 'bt709') return '709'
  if (matrix === 'smpte240m') return '240m'
  if (matrix === 'fcc') return 'fcc'
  return '470bg'
}

/** Decides interlacing from the stream's field order, an idet look, and --deinterlace. */
export function decideDeinterlace(mode: DeinterlaceMode, fieldOrder: string | undefined, analysis: PictureAnalysis): Pick<PicturePlan, 'deinterlace' | 'deinterlaceReason' | 'fieldParity'> {
  if (mode === 'off') return {deinterlace: false, deinterlaceReason: 'none'}
  if (mode === 'on') return {deinterlace: true, deinterlaceReason: 'forced'}
  if (fieldOrder && /^(tt|bb|tb|bt)$/.test(fieldOrder)) return {deinterlace: true, deinterlaceReason: 'field-order'}
  if (analysis.interlaced?.detected) return {deinterlace: true, deinterlaceReason: 'idet', fieldParity: analysis.interlaced.topFieldFirst === false ? 'bff' : 'tff'}
  return {deinterlace: false, deinterlaceReason: 'none'}
}

/** Whether the stream's own word leaves interlacing open, so that a look at the pictures (idet) is needed. */
export function needsInterlaceLook(mode: DeinterlaceMode, fieldOrder: string | undefined): boolean {
  return mode === 'auto' && !(fieldOrder && /^(tt|bb|tb|bt)$/.test(fieldOrder))
}

/**
 * idet's multi-frame counts to a verdict. Woven fields show as nearly every frame combed with one
 * field first (a 25i recording: 100 of 100 top field first). Fine moving detail in progressive
 * video can fool idet on some frames, with no consistent field order, so the verdict asks for 90 % combed frames, four in five of one
 * order, and 20 frames at least; a still picture is "undetermined" and says nothing.
 */
export function readIdetVerdict(counts: {tff: number; bff: number; progressive: number}): {detected: boolean; interlacedFrames: number; progressiveFrames: number; topFieldFirst: boolean} {
  const interlacedFrames = counts.tff + counts.bff
  const detected = interlacedFrames >= 20 && interlacedFrames >= 0.9 * (interlacedFrames + counts.progressive) && Math.max(counts.tff, counts.bff) >= 0.8 * interlacedFrames
  return {detected, interlacedFrames, progressiveFrames: counts.progressive, topFieldFirst: counts.tff >= counts.bff}
}

/** The largest rung (short side) that runs at the reduced rate of a high-frame-rate source. */
export const REDUCED_RATE_MAX_SHORT_SIDE = 480

/**
 * A source above 30 fps keeps its rate on the top rungs; 480p and below run at half of it (a phone
 * cannot use 60 fps at 144p and it costs bits), when half still fills each segment with whole frames.
 */
export function reducedFrameRate(rate: FrameRate, segmentDurationSeconds: number): FrameRate | undefined {
  if (!(rate.fps > 31)) return undefined
  const [numerator, denominator] = parseRational(rate.ratio) as [number, number]
  const half = numerator % 2 === 0 ? ratio(numerator / 2, denominator) : ratio(numerator, denominator * 2)
  const frames = segmentDurationSeconds * (numerator / denominator / 2)
  return Math.abs(frames - Math.round(frames)) < 1e-3 ? half : undefined
}

export interface PlanPictureInput {
  picture: PictureFacts
  deinterlace: DeinterlaceMode
  analysis?: PictureAnalysis
  segmentDurationSeconds: number
  /** Live keeps one rate on every rung (one shared output, and a steady encoder load). */
  reduceFrameRate?: boolean
  /** Live keeps the frames as they come: no frame-rate filter (it would hold a frame back). */
  keepFrameTiming?: boolean
}

export function planPicture(input: PlanPictureInput): PicturePlan {
  const {picture} = input
  const analysis = input.analysis ?? {}
  const colour = sourceColour(picture)
  const toneMapped = hdrTransfer(colour)
  const frameRate = picture.outputFrameRate ?? nominalFrameRate(String(picture.frameRate), undefined).rate
  const reduced = input.reduceFrameRate === false ? undefined : reducedFrameRate(frameRate, input.segmentDurationSeconds)
  const sizes = analysis.sizes ?? []
  const sizeChanges = new Set(sizes.map((size) => `${size.width}x${size.height}`)).size > 1
  const even = (value: number) => Math.max(2, Math.round(value / 2) * 2)
  return {
    ...decideDeinterlace(input.deinterlace, picture.fieldOrder, analysis),
    ...(toneMapped ? {toneMapped} : {}),
    sourceColour: colour,
    colourConverted: toneMapped !== undefined || colour.primaries === 'bt2020',
    frameRate,
    ...(reduced ? {reducedFrameRate: reduced} : {}),
    variableFrameRate: picture.variableFrameRate ?? false,
    ...(input.keepFrameTiming ? {keepFrameTiming: true} : {}),
    ...(sizeChanges ? {canvas: {width: even(picture.displayWidth), height: even(picture.displayHeight)}} : {}),
  }
}

/** The rate a rung of this short side runs at. */
export function rungFrameRate(plan: PicturePlan, shortSide: number): FrameRate {
  return plan.reducedFrameRate && shortSide <= REDUCED_RATE_MAX_SHORT_SIDE ? plan.reducedFrameRate : plan.frameRate
}

/**
 * Reference white for HDR, in cd/m²: BT.2408's 203 for both PQ and HLG, so that a graphics-white
 * or diffuse-white area of an HDR recording lands on SDR's white and everything brighter is what
 * the curve compresses.
 */
const HDR_REFERENCE_WHITE_NITS = 203

/**
 * Mobius: linear (the source's own colours, untouched) below 0.7 of SDR white, then a smooth roll-off
 * up to the source's peak. Measured on a PQ clip made from a known SDR picture: it keeps 0.90 of
 * the saturation (hable 0.60, reinhard 0.76, clip 0.94 but with every highlight above white cut
 * flat), and looked closest to the SDR picture by eye. desat (the highlights' desaturation) is left
 * at its default so bright light stays white rather than turning into a flat colour.
 */
const TONE_MAP_FILTER = 'tonemap=mobius:param=0.7'

/**
 * The colour conversion to BT.709 SDR as a 3D LUT (a Hald CLUT of 64 points a side, in float):
 * the exact chain (zscale to linear light, BT.2020 to BT.709 primaries, the tone curve, BT.709
 * transfer) runs once on the LUT's 262,144 colours instead of on every pixel of every frame, and
 * haldclut interpolates (tetrahedral). It costs a fraction of the CPU of the same chain per pixel,
 * within a small SSIM difference of it (BENCHMARKS.md, "Real recordings").
 */
export function colourLutSource(plan: PicturePlan): string {
  const {primaries, transfer} = plan.sourceColour
  return [
    'haldclutsrc=level=8:rate=1', 'trim=end_frame=1', 'format=gbrpf32le',
    `setparams=color_primaries=${primaries}:color_trc=${transfer}:colorspace=gbr:range=pc`,
    `zscale=t=linear:npl=${HDR_REFERENCE_WHITE_NITS}`,
    'zscale=p=bt709',
    ...(plan.toneMapped ? [TONE_MAP_FILTER] : []),
    'zscale=t=bt709:r=pc', 'format=gbrpf32le',
  ].join(',')
}

/** Tags a picture as what every rung is: BT.709, limited range. */
export const BT709_PARAMS = 'setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv'

/** The picture to RGB in its own transfer, the LUT (second input `lutLabel`), back to BT.709 YUV. */
export function colourLutApply(plan: PicturePlan, inLabel: string, lutLabel: string, outLabel: string): string {
  const {matrix, range} = plan.sourceColour
  return `[${inLabel}]zscale=min=${zimgMatrix(matrix)}:rin=${range === 'pc' ? 'full' : 'limited'}:m=gbr:r=full,format=gbrpf32le[${inLabel}rgb];` +
    `[${inLabel}rgb][${lutLabel}]haldclut=interp=tetrahedral,zscale=m=709:r=limited,format=yuv420p,${BT709_PARAMS}[${outLabel}]`
}

/**
 * bwdif, one frame per frame. The field order is the frames' own (a stream that says it is
 * interlaced), or idet's where the frames are marked progressive (parity=auto would take those as
 * top field first, and deinterlace bottom-first DV in the wrong order of time).
 */
export function deinterlaceFilter(plan: Pick<PicturePlan, 'fieldParity'>): string {
  return `bwdif=mode=send_frame:parity=${plan.fieldParity ?? 'auto'}:deint=all`
}

/**
 * The filters on the decoded picture before the ladder splits it (after the canvas, before the
 * colour LUT): deinterlaced, at the output rate. `start_time=0` pads the start
 * with the first picture when the video starts after the audio, so every rung starts at 0 with the
 * audio (hls.js reads the fragments' times and ignores MP4 edit lists).
 */
export function sourcePictureFilters(plan: PicturePlan): string[] {
  return [
    ...(plan.deinterlace ? [deinterlaceFilter(plan)] : []),
    ...(plan.keepFrameTiming ? [] : [`fps=${plan.frameRate.ratio}:start_time=0`]),
  ]
}

/**
 * The canvas step, first in the graph when the size changes part-way: each picture scaled into the
 * first one's display size, aspect kept, centred on black. The input must be read with
 * `-reinit_filter:v 0`: scale then adapts to each new size itself, where ffmpeg would otherwise
 * rebuild the whole graph (and restart the frame-rate and padding state) at every change.
 */
export function canvasChain(canvas: {width: number; height: number}, frameRate: FrameRate, inLabel: string, outLabel: string, options: {interlaced?: boolean} = {}): string {
  const {width, height} = canvas
  // interl=1: woven fields are scaled each on its own, so bwdif after still finds them. format=auto:
  // the canvas takes the picture's own format (10-bit HDR stays 10-bit until it is tone-mapped).
  return `[${inLabel}]scale=${width}:${height}:force_original_aspect_ratio=decrease:force_divisible_by=2${options.interlaced ? ':interl=1' : ''},setsar=1[${outLabel}fit];` +
    `color=black:s=${width}x${height}:r=${frameRate.ratio}[${outLabel}bg];` +
    `[${outLabel}bg][${outLabel}fit]overlay=x=(W-w)/2:y=(H-h)/2:eval=frame:shortest=1:format=auto[${outLabel}]`
}

/** A rung's colour: its primaries, transfer and matrix as ffmpeg names them; always limited range. */
export interface RungColour {
  primaries: string
  transfer: string
  matrix: string
}

export const BT709: RungColour = {primaries: 'bt709', transfer: 'bt709', matrix: 'bt709'}

/** The smallest short side at which a rung is HD, where every player assumes BT.709. */
const HD_SHORT_SIDE = 720

/**
 * The colour a rung is encoded in. HDR and BT.2020 have become BT.709 through the LUT, and BT.709
 * stays. An SD source's BT.601 stays BT.601 on its SD rungs, tagged so: converting the matrix in
 * swscale dithers, and a static SD picture then cost 35 % more bits at the same CRF. An HD rung of
 * a BT.601 source (a camera that tags 1080p as SD) is converted, since players assume BT.709 for HD.
 */
export function rungColour(plan: PicturePlan, shortSide: number): RungColour {
  const source = plan.sourceColour
  if (plan.colourConverted || source.matrix === 'bt709' || source.matrix === 'gbr' || shortSide >= HD_SHORT_SIDE) return BT709
  return {primaries: source.primaries, transfer: source.transfer, matrix: source.matrix}
}

/** swscale options turning the picture's matrix and range into the rung's (nothing when they already agree). */
export function scaleColourOptions(from: {matrix: string; range: string}, to: RungColour): string {
  if (from.matrix === 'gbr') return `:out_color_matrix=${swscaleMatrix(to.matrix)}:out_range=tv`
  if (swscaleMatrix(from.matrix) === swscaleMatrix(to.matrix) && from.range === 'tv') return ''
  return `:in_color_matrix=${swscaleMatrix(from.matrix)}:in_range=${from.range}:out_color_matrix=${swscaleMatrix(to.matrix)}:out_range=tv`
}

/** A rung's colour tags (VUI), explicit, limited range, for the next output or video stream `specifier`. */
export function colourTagArgs(colour: RungColour, specifier = 'v'): string[] {
  return [`-color_primaries:${specifier}`, colour.primaries, `-color_trc:${specifier}`, colour.transfer, `-colorspace:${specifier}`, colour.matrix, `-color_range:${specifier}`, 'tv']
}
