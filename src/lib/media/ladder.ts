/**
 * Ladder planning: which renditions to make from a source. Pure functions only.
 *
 * A rung is named by the short side of the picture ("720p" is 1280x720 landscape, 720x1280 portrait).
 * Nothing is ever upscaled: a rung taller than the source is dropped, except that a rung less than
 * 10% above the source (a 1919x1079 capture against 1080p) is kept at the source's own size, and a
 * source smaller than every rung still gets one rendition at its own size.
 */
import {UserError} from '../errors.js'
import {readJsonFile} from '../files.js'

export type H264Profile = 'baseline' | 'main' | 'high'

export interface Rung {
  /** URL-safe name used for files and playlists, e.g. "720p". */
  name: string
  /** Short side of the picture in pixels (the height of a landscape picture, the width of a portrait one). */
  shortSide: number
  videoBitrateKbps: number
  maxRateKbps: number
  bufferSizeKbps: number
  audioBitrateKbps: number
  profile: H264Profile
}

/** Bitrates follow common H.264 ladders (Apple's HLS authoring spec, YouTube's recommendations). */
export const STANDARD_RUNGS: readonly Rung[] = [
  {name: '1080p', shortSide: 1080, videoBitrateKbps: 5000, maxRateKbps: 5350, bufferSizeKbps: 7500, audioBitrateKbps: 128, profile: 'high'},
  {name: '720p', shortSide: 720, videoBitrateKbps: 2800, maxRateKbps: 2996, bufferSizeKbps: 4200, audioBitrateKbps: 128, profile: 'high'},
  {name: '480p', shortSide: 480, videoBitrateKbps: 1400, maxRateKbps: 1498, bufferSizeKbps: 2100, audioBitrateKbps: 96, profile: 'main'},
  {name: '360p', shortSide: 360, videoBitrateKbps: 800, maxRateKbps: 856, bufferSizeKbps: 1200, audioBitrateKbps: 96, profile: 'main'},
  {name: '240p', shortSide: 240, videoBitrateKbps: 400, maxRateKbps: 428, bufferSizeKbps: 600, audioBitrateKbps: 64, profile: 'baseline'},
  {name: '144p', shortSide: 144, videoBitrateKbps: 200, maxRateKbps: 214, bufferSizeKbps: 300, audioBitrateKbps: 64, profile: 'baseline'},
]

export const DEFAULT_LADDER = ['1080p', '720p', '480p', '144p'] as const

/** The live ladder `ingest` encodes unless told otherwise: fewer rungs, since every one must keep up in real time. */
export const DEFAULT_LIVE_LADDER = ['720p', '480p', '144p'] as const

/** How far above the source a rung may be and still be kept, at the source's size. */
const NEAR_RUNG_TOLERANCE = 0.1

const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/i

export interface PlannedRendition extends Rung {
  width: number
  /** Pixel height of the output (Rung.shortSide is the short side it was planned from). */
  pixelHeight: number
}

export interface LadderSource {
  displayWidth: number
  displayHeight: number
}

/** Picks standard rungs by name: "1080p,480p". */
export function standardLadder(names: readonly string[]): Rung[] {
  return names.map((raw) => {
    const name = raw.trim().toLowerCase()
    const rung = STANDARD_RUNGS.find((candidate) => candidate.name === name)
    if (!rung) {
      throw new UserError(`Unknown ladder rung "${raw}"`, {
        hint: `Standard rungs: ${STANDARD_RUNGS.map((candidate) => candidate.name).join(', ')}; or give a JSON ladder file.`,
      })
    }

    return {...rung}
  })
}

function requirePositive(value: unknown, field: string, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new UserError(`${where}: "${field}" must be a positive number (got ${JSON.stringify(value)})`)
  }

  return value
}

/**
 * Validates a custom ladder: an array of rungs, or {"rungs": [...]}. Each needs shortSide (the
 * short side of the picture; "height" is accepted for it, as earlier versions named it),
 * videoBitrateKbps and audioBitrateKbps; maxRateKbps (default 1.07x), bufferSizeKbps (default
 * 1.5x), profile (default high) and name (default "<shortSide>p") are optional.
 */
export function parseLadderDefinition(definition: unknown, where = 'ladder'): Rung[] {
  const list = Array.isArray(definition) ? definition : (definition as {rungs?: unknown} | null)?.rungs
  if (!Array.isArray(list) || list.length === 0) {
    throw new UserError(`${where}: expected a non-empty array of rungs, or {"rungs": [...]}`)
  }

  const rungs = list.map((entry: unknown, index): Rung => {
    const at = `${where}, rung ${index + 1}`
    if (typeof entry !== 'object' || entry === null) throw new UserError(`${at}: expected an object`)
    const raw = entry as Record<string, unknown>
    const key = raw.shortSide === undefined && raw.height !== undefined ? 'height' : 'shortSide'
    const shortSide = requirePositive(raw[key], key, at)
    if (!Number.isInteger(shortSide) || shortSide < 32 || shortSide > 4320) throw new UserError(`${at}: "${key}" must be an integer from 32 to 4320`)
    const videoBitrateKbps = requirePositive(raw.videoBitrateKbps, 'videoBitrateKbps', at)
    const audioBitrateKbps = requirePositive(raw.audioBitrateKbps, 'audioBitrateKbps', at)
    const maxRateKbps = raw.maxRateKbps === undefined ? Math.round(videoBitrateKbps * 1.07) : requirePositive(raw.maxRateKbps, 'maxRateKbps', at)
    const bufferSizeKbps = raw.bufferSizeKbps === undefined ? Math.round(videoBitrateKbps * 1.5) : requirePositive(raw.bufferSizeKbps, 'bufferSizeKbps', at)
    const profile = raw.profile ?? 'high'
    if (profile !== 'baseline' && profile !== 'main' && profile !== 'high') {
      throw new UserError(`${at}: "profile" must be baseline, main or high (got ${JSON.stringify(profile)})`)
    }

    const name = raw.name ?? `${shortSide}p`
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new UserError(`${at}: "name" must be 1-32 letters, digits, "-" or "_" (got ${JSON.stringify(name)})`)
    }

    if (maxRateKbps < videoBitrateKbps) throw new UserError(`${at}: "maxRateKbps" must not be below "videoBitrateKbps"`)
    return {name, shortSide, videoBitrateKbps, maxRateKbps, bufferSizeKbps, audioBitrateKbps, profile}
  })

  const names = new Set<string>()
  for (const rung of rungs) {
    if (names.has(rung.name)) throw new UserError(`${where}: rung name "${rung.name}" is used twice`)
    names.add(rung.name)
  }

  return rungs
}

/** `--ladder` value: a comma-separated list of standard rungs, or a path to a JSON ladder file. */
export async function loadLadder(spec: string | undefined): Promise<Rung[]> {
  if (!spec) return standardLadder(DEFAULT_LADDER)
  if (!spec.toLowerCase().endsWith('.json')) return standardLadder(spec.split(',').filter(Boolean))
  const parsed = await readJsonFile(spec, new UserError(`Ladder file not found: ${spec}`), `Ladder file ${spec}`)
  return parseLadderDefinition(parsed, spec)
}

const evenFloor = (value: number) => Math.max(2, Math.floor(value / 2) * 2)
const evenRound = (value: number) => Math.max(2, Math.round(value / 2) * 2)

/**
 * The renditions to encode for a source, tallest first. Keeps the display aspect ratio, gives
 * even dimensions, and scales portrait sources by their short side.
 */
export function planLadder(source: LadderSource, rungs: readonly Rung[]): PlannedRendition[] {
  const portrait = source.displayHeight > source.displayWidth
  const shortSide = Math.min(source.displayWidth, source.displayHeight)
  const longSide = Math.max(source.displayWidth, source.displayHeight)
  const aspect = longSide / shortSide
  const sorted = [...rungs].sort((a, b) => b.shortSide - a.shortSide)

  const chosen = sorted.filter((rung) => rung.shortSide <= shortSide * (1 + NEAR_RUNG_TOLERANCE))
  if (chosen.length === 0 && sorted.length > 0) chosen.push(sorted.at(-1) as Rung)

  const planned: PlannedRendition[] = []
  for (const rung of chosen) {
    const outShort = evenFloor(Math.min(rung.shortSide, shortSide))
    const outLong = Math.min(evenRound(outShort * aspect), evenFloor(longSide))
    const width = portrait ? outShort : outLong
    const pixelHeight = portrait ? outLong : outShort
    // Two rungs collapsing onto the same size (e.g. both capped at the source) would be waste.
    if (planned.some((existing) => existing.width === width && existing.pixelHeight === pixelHeight)) continue
    planned.push({...rung, width, pixelHeight})
  }

  return planned
}
