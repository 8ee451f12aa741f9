/**
 * Low-latency HLS media playlists (RFC 8216bis: EXT-X-PART, EXT-X-PRELOAD-HINT, blocking reload,
 * delta updates, rendition reports). Pure: the live origin keeps the state and asks for text.
 *
 * Parts are their own URIs (`seg-0-00005.p2.m4s` is the third chunk of `seg-0-00005.m4s`), which
 * the origin answers from the segment's bytes: every part is a whole, immutable resource a CDN
 * caches as it is, and the preload hint is a plain GET (byte-range hints need open-ended ranges
 * that CDNs do not hold open).
 */

export interface LlPart {
  uri: string
  durationSeconds: number
  /** Starts with a key frame (every audio part; the first part of each video segment). */
  independent: boolean
}

export interface LlSegment {
  /** Media sequence number (0 for the first segment of the stream). */
  msn: number
  uri: string
  durationSeconds: number
  /** Wall-clock time of its first sample (ms since the epoch), when known. */
  programDateTimeMs?: number
  /** Its parts: all of them while it is being written and for the last few segments. */
  parts: readonly LlPart[]
}

export interface LlRenditionReport {
  uri: string
  lastMsn: number
  lastPart: number
}

export interface LlPlaylistInput {
  initUri: string
  /** Complete segments, oldest first. */
  segments: readonly LlSegment[]
  /** The segment being written, with the parts complete so far. */
  current?: LlSegment
  /** URI of the part after the last one listed: where the player should be waiting. */
  preloadHintUri?: string
  targetDurationSeconds: number
  partTargetSeconds: number
  /** Seconds of the most recent segments listed (the DVR window). */
  windowSeconds: number
  renditionReports: readonly LlRenditionReport[]
  /** A delta update (`_HLS_skip=YES`): segments older than canSkipUntil are replaced by EXT-X-SKIP. */
  skip?: boolean
  ended: boolean
}

/** Parts are listed for segments within this many target durations of the live edge (the RFC says at least 3). */
const PART_LIST_TARGET_DURATIONS = 3

/**
 * PART-HOLD-BACK in part targets. The RFC: at least twice the part target, and it should be three
 * times. 2.5 times, as MediaMTX serves it, still leaves a player one late part's room, and lowered
 * hls.js's glass-to-glass latency without stalls (BENCHMARKS.md, "Live: glass to glass").
 */
export const PART_HOLD_BACK_PARTS = 2.5

export function partHoldBackSeconds(partTargetSeconds: number): number {
  return round3(PART_HOLD_BACK_PARTS * partTargetSeconds)
}

/** How far back a delta update may skip: the RFC's minimum of six target durations. */
export function canSkipUntilSeconds(targetDurationSeconds: number): number {
  return 6 * targetDurationSeconds
}

const round3 = (value: number) => Math.round(value * 1000) / 1000
const seconds = (value: number) => value.toFixed(5).replace(/0+$/, '').replace(/\.$/, '.0')

function windowed(segments: readonly LlSegment[], windowSeconds: number): LlSegment[] {
  let kept = 0
  let total = 0
  for (let index = segments.length - 1; index >= 0 && total < windowSeconds; index--) {
    total += (segments[index] as LlSegment).durationSeconds
    kept++
  }

  return segments.slice(segments.length - Math.max(1, kept))
}

export function buildLlMediaPlaylist(input: LlPlaylistInput): string {
  const listed = input.segments.length > 0 ? windowed(input.segments, input.windowSeconds) : []
  const all = input.current ? [...listed, input.current] : listed
  const firstMsn = all[0]?.msn ?? input.current?.msn ?? 0
  const canSkipUntil = canSkipUntilSeconds(input.targetDurationSeconds)
  const lines = [
    '#EXTM3U',
    // Version 9 for EXT-X-SKIP; parts and preload hints need 6 or later.
    '#EXT-X-VERSION:9',
    `#EXT-X-TARGETDURATION:${input.targetDurationSeconds}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${seconds(canSkipUntil)},PART-HOLD-BACK=${seconds(partHoldBackSeconds(input.partTargetSeconds))}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(input.partTargetSeconds)}`,
    `#EXT-X-MEDIA-SEQUENCE:${firstMsn}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${input.initUri}"`,
  ]

  // The skip boundary: complete segments that end more than CAN-SKIP-UNTIL before the live edge.
  let skipped = 0
  if (input.skip) {
    const edge = all.reduce((sum, segment) => sum + segment.durationSeconds, 0)
    let end = 0
    for (const segment of listed) {
      end += segment.durationSeconds
      if (edge - end < canSkipUntil) break
      skipped++
    }

    if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`)
  }

  // Parts are listed for the segments close to the live edge only.
  let fromEdge = input.current?.durationSeconds ?? 0
  const withParts = new Set<LlSegment>(input.current ? [input.current] : [])
  for (let index = listed.length - 1; index >= 0; index--) {
    const segment = listed[index] as LlSegment
    if (fromEdge >= PART_LIST_TARGET_DURATIONS * input.targetDurationSeconds) break
    withParts.add(segment)
    fromEdge += segment.durationSeconds
  }

  for (const segment of listed.slice(skipped)) {
    if (segment.programDateTimeMs !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTimeMs).toISOString()}`)
    if (withParts.has(segment)) for (const part of segment.parts) lines.push(partLine(part))
    lines.push(`#EXTINF:${segment.durationSeconds.toFixed(5)},`, segment.uri)
  }

  if (input.current && !input.ended) {
    if (input.current.programDateTimeMs !== undefined && input.current.parts.length > 0) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(input.current.programDateTimeMs).toISOString()}`)
    for (const part of input.current.parts) lines.push(partLine(part))
  }

  if (input.ended) {
    lines.push('#EXT-X-ENDLIST')
  } else {
    if (input.preloadHintUri) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${input.preloadHintUri}"`)
    for (const report of input.renditionReports) lines.push(`#EXT-X-RENDITION-REPORT:URI="${report.uri}",LAST-MSN=${report.lastMsn},LAST-PART=${report.lastPart}`)
  }

  return `${lines.join('\n')}\n`
}

function partLine(part: LlPart): string {
  return `#EXT-X-PART:DURATION=${seconds(part.durationSeconds)},URI="${part.uri}"${part.independent ? ',INDEPENDENT=YES' : ''}`
}

/** The URI of part `index` of the segment at `segmentUri`: `seg-0-00005.m4s` -> `seg-0-00005.p2.m4s`. */
export function partUri(segmentUri: string, index: number): string {
  return segmentUri.replace(/\.m4s$/, `.p${index}.m4s`)
}

/** The segment and part index a part URI names, or undefined for any other name. */
export function parsePartUri(uri: string): {segmentUri: string; index: number} | undefined {
  const match = /^(.+)\.p(\d{1,4})\.m4s$/.exec(uri)
  return match ? {segmentUri: `${match[1]}.m4s`, index: Number(match[2])} : undefined
}

/** What a blocking playlist request waits for, from its query (`_HLS_msn`, `_HLS_part`, `_HLS_skip`). */
export interface BlockingRequest {
  msn?: number
  part?: number
  skip: boolean
}

export class BlockingRequestError extends Error {}

export function parseBlockingRequest(query: Record<string, unknown>): BlockingRequest {
  const integer = (name: string): number | undefined => {
    const value = query[name]
    if (value === undefined) return undefined
    if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) throw new BlockingRequestError(`${name} must be a non-negative integer`)
    return Number(value)
  }

  const msn = integer('_HLS_msn')
  const part = integer('_HLS_part')
  if (part !== undefined && msn === undefined) throw new BlockingRequestError('_HLS_part needs _HLS_msn')
  const skip = query._HLS_skip
  if (skip !== undefined && skip !== 'YES' && skip !== 'v2') throw new BlockingRequestError('_HLS_skip must be YES or v2')
  return {msn, part, skip: skip !== undefined}
}
