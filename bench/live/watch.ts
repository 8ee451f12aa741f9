/**
 * Watching the contenders of a glass-to-publish push: when each segment is first listed in a live
 * playlist, the encoder speed livectl reports, and afterwards the latency of every segment from
 * the frame number read out of its first frame.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import {setTimeout as sleep} from 'node:timers/promises'

import {FRAME_RATE, now, type ProgressSample, readFrameNumber} from '../support/live-push.js'
import {httpRequest} from '../support/net.js'
import {median, percentile, slope} from '../support/stats.js'

/** Segments whose first frame was pushed earlier than this are start-up, not steady state. */
export const WARMUP_SECONDS = 8
export const POLL_MS = 20
const METRICS_MS = 1000
const SPEED_WINDOW_SECONDS = 5

interface PlaylistEntry {
  uri: string
  duration?: number
}

function parsePlaylist(text: string): {map?: string; segments: PlaylistEntry[]; ended: boolean} {
  const segments: PlaylistEntry[] = []
  let map: string | undefined
  let duration: number | undefined
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#EXT-X-MAP:')) map = /URI="([^"]+)"/.exec(line)?.[1]
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length))
    else if (line !== '' && !line.startsWith('#')) {
      segments.push({uri: line, duration})
      duration = undefined
    }
  }

  return {map, segments, ended: text.includes('#EXT-X-ENDLIST')}
}

export interface Watcher {
  id: string
  playlist?: string
  map?: string
  segments: Array<PlaylistEntry & {appearedAt: number}>
  known: Set<string>
  ended: boolean
  lastChange?: number
  poll(): Promise<void>
}

/** Remembers the wall time each segment of one contender's live playlist is first listed. */
export function createWatcher(id: string, locate: () => Promise<string | undefined>): Watcher {
  const watcher: Watcher = {
    id,
    playlist: undefined,
    map: undefined,
    segments: [],
    known: new Set(),
    ended: false,
    lastChange: undefined,
    async poll() {
      watcher.playlist ??= await locate()
      if (!watcher.playlist) return
      const readAt = now()
      let text: string
      try {
        text = await readFile(watcher.playlist, 'utf8')
      } catch {
        return // not written yet
      }

      const listing = parsePlaylist(text)
      watcher.map ??= listing.map
      for (const entry of listing.segments) {
        if (watcher.known.has(entry.uri)) continue
        watcher.known.add(entry.uri)
        watcher.segments.push({...entry, appearedAt: readAt})
        watcher.lastChange = readAt
      }

      watcher.ended ||= listing.ended
    },
  }
  return watcher
}

/** Polls every watcher every POLL_MS until the returned function is called. */
export function startPolling(watchers: readonly Watcher[]): () => Promise<void> {
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const started = performance.now()
      await Promise.all(watchers.map((watcher) => watcher.poll()))
      await sleep(Math.max(1, POLL_MS - (performance.now() - started)))
    }
  })()
  return async () => {
    stopped = true
    await done
  }
}

export interface SpeedSample {
  wall: number
  speed: number
}

/** Scrapes livectl_live_encoder_speed from the ingest's /metrics every second. */
export function startMetricsScraper(url: string): () => Promise<SpeedSample[]> {
  const samples: SpeedSample[] = []
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      try {
        const {status, body} = await httpRequest(url)
        const match = status === 200 ? /^livectl_live_encoder_speed\{[^}]*\}\s+(\S+)$/m.exec(body) : null
        if (match) samples.push({wall: now(), speed: Number(match[1])})
      } catch {
        // not up yet, or going away
      }

      await sleep(METRICS_MS)
    }
  })()
  return async () => {
    stopped = true
    await done
    return samples
  }
}

/** Media seconds per wall second over sliding 5 s windows of {wall, media} samples, within [from, to]. */
export function windowRates(samples: readonly ProgressSample[], from: number, to: number): number[] {
  const rates: number[] = []
  for (const [index, sample] of samples.entries()) {
    if (sample.wall < from + SPEED_WINDOW_SECONDS || sample.wall > to) continue
    const start = samples.slice(0, index).find((candidate) => candidate.wall >= sample.wall - SPEED_WINDOW_SECONDS)
    if (!start || sample.wall - start.wall < SPEED_WINDOW_SECONDS * 0.8) continue
    rates.push((sample.media - start.media) / (sample.wall - start.wall))
  }

  return rates
}

/** One listed segment, with the frames it holds and their latencies (seconds). */
export interface SegmentRow {
  uri: string
  first: number
  count: number
  appearedAt: number
  pushedAt: number
  firstLatency: number
  lastLatency: number
  meanLatency: number
  /** In the statistics: steady state, a full segment, not closed by the end of the push. */
  counted: boolean
}

export interface ContenderResult {
  id: string
  listed: number
  unreadable: number
  counted: number
  firstSegmentAfter?: number
  first: {median?: number; p90?: number}
  last: {median?: number; p90?: number}
  meanOverFrames?: number
  drift?: number
  rows: SegmentRow[]
  /** Encoder speed in the steady part: median and min; max over the whole push. */
  speed?: {median: number; min: number; max: number; samples: number}
  /** CPU seconds of the contender's process tree per wall second of the push. */
  cpuCores?: number
}

/**
 * Per segment: the frame numbers it holds (first frame read from the picture; the count from the
 * next segment's first frame, or from EXTINF), when they were pushed, and when it was listed.
 */
export async function analyseWatcher(
  watcher: Watcher,
  {ffmpeg, pushStart, pushEnd, segmentSeconds, totalFrames}: {ffmpeg: string; pushStart: number; pushEnd: number; segmentSeconds: number; totalFrames: number},
): Promise<ContenderResult> {
  const dir = watcher.playlist ? path.dirname(watcher.playlist) : undefined
  const segments = []
  for (const segment of watcher.segments) {
    const first = dir ? await readFrameNumber(ffmpeg, watcher.map ? path.join(dir, watcher.map) : undefined, path.join(dir, segment.uri)) : undefined
    segments.push({...segment, first})
  }

  const unreadable = segments.filter((segment) => segment.first === undefined).length
  const rows: SegmentRow[] = []
  for (const [index, segment] of segments.entries()) {
    if (segment.first === undefined) continue
    const next = segments[index + 1]
    const count = next?.first !== undefined && next.first > segment.first ? next.first - segment.first : Math.round((segment.duration ?? 0) * FRAME_RATE)
    const sent = (frame: number) => pushStart + frame / FRAME_RATE
    const pushedAt = segment.first / FRAME_RATE
    // Steady state only: not start-up, a full segment, and not the last one (closed by the end of the stream, not by the next keyframe).
    const closedByEnd = segment.first + count - 1 >= totalFrames - 1 || (index === segments.length - 1 && segment.appearedAt > pushEnd)
    rows.push({
      uri: segment.uri,
      first: segment.first,
      count,
      appearedAt: segment.appearedAt,
      pushedAt,
      firstLatency: segment.appearedAt - sent(segment.first),
      lastLatency: segment.appearedAt - sent(segment.first + count - 1),
      meanLatency: segment.appearedAt - sent(segment.first + (count - 1) / 2),
      counted: pushedAt >= WARMUP_SECONDS && count >= 0.9 * segmentSeconds * FRAME_RATE && !closedByEnd,
    })
  }

  const counted = rows.filter((row) => row.counted)
  const frames = counted.reduce((sum, row) => sum + row.count, 0)
  const firstListed = watcher.segments[0]
  return {
    id: watcher.id,
    listed: watcher.segments.length,
    unreadable,
    counted: counted.length,
    firstSegmentAfter: firstListed ? firstListed.appearedAt - pushStart : undefined,
    first: {median: counted.length > 0 ? median(counted.map((row) => row.firstLatency)) : undefined, p90: percentile(counted.map((row) => row.firstLatency), 0.9)},
    last: {median: counted.length > 0 ? median(counted.map((row) => row.lastLatency)) : undefined, p90: percentile(counted.map((row) => row.lastLatency), 0.9)},
    meanOverFrames: frames > 0 ? counted.reduce((sum, row) => sum + row.meanLatency * row.count, 0) / frames : undefined,
    drift: slope(counted.map((row) => [row.pushedAt, row.firstLatency] as const)),
    rows,
  }
}
