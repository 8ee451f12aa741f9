/**
 * One low-latency live stream as the origin sees it: the chunk index of every track (ll-index.ts),
 * polled while the encoder writes, and what requests wait on: a playlist that holds a given part
 * (blocking reload), the first bytes of a part that is not written yet (the preload hint), the
 * bytes of a segment as they are written (LL-DASH's chunked transfer).
 *
 * The stream's owner (the live stream's state machine, through the session) starts it with the
 * encoder and ends it when the encoder has exited; it answers for a while after that, ended.
 */
import {Buffer} from 'node:buffer'
import {type FileHandle, open, readFile} from 'node:fs/promises'
import path from 'node:path'
import {Readable} from 'node:stream'

import {type LlChunkPart, LlTrack, type LlTrackSegment} from './ll-index.js'
import {withSegmentsInProgress} from '../package/live-mpd.js'
import {type BlockingRequest, buildLlMediaPlaylist, type LlRenditionReport} from '../package/ll-hls.js'

export interface LlStreamTrack {
  /** Its media playlist's name, e.g. media_0.m3u8. */
  playlist: string
  initUri: string
  segmentUri: (number: number) => string
}

export interface LlStreamOptions {
  videoId: string
  workDir: string
  tracks: readonly LlStreamTrack[]
  segmentDurationSeconds: number
  partTargetSeconds: number
  windowSeconds: number
  /** The master playlist (the same text as the one published to storage). */
  master: () => string
  /** Rewrites the encoder's MPD for live delivery (DVR window, availability offset). */
  mpd: (text: string) => string
  pollMs?: number
  /** How long a request may wait for a part or playlist (default three target durations, the RFC's). */
  holdMs?: number
}

/** A request for a part or playlist more than two segments after the live edge (400). */
export class LlTooFarAheadError extends Error {}
/** A file this stream does not have and will not have (404). */
export class LlNotFoundError extends Error {}
/** A blocking request the stream did not satisfy in time (503: the player retries). */
export class LlTimeoutError extends Error {}

const STREAM_POLL_MS = 20

/** The last segment a track's playlist lists: the one being written once it has a part, else the last complete one. */
function lastListedMsn(track: LlTrack): number {
  const current = track.current
  return current && current.parts.length > 0 ? current.msn : track.nextMsn - 1
}

/** Opens a segment by the name the index knows; one renamed on completion in between is the same bytes under its final name. */
async function openSegmentFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !file.endsWith('.tmp')) throw error
    return open(file.slice(0, -'.tmp'.length), 'r')
  }
}

export class LlStream {
  readonly tracks: LlTrack[]
  private readonly waiters = new Set<() => void>()
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private ended = false
  /** No more polls are scheduled once set (the encoder exited, or the stream was dropped). */
  private stopping = false
  private failure: Error | undefined

  constructor(readonly options: LlStreamOptions) {
    this.tracks = options.tracks.map((track) => new LlTrack({workDir: options.workDir, initUri: track.initUri, segmentUri: track.segmentUri}))
  }

  get isEnded(): boolean {
    return this.ended
  }

  get targetDurationSeconds(): number {
    return Math.max(1, Math.ceil(this.options.segmentDurationSeconds - 1e-3))
  }

  private get holdMs(): number {
    return this.options.holdMs ?? 3 * this.targetDurationSeconds * 1000
  }

  start(): void {
    const tick = () => {
      this.polling = this.pollOnce().finally(() => {
        this.polling = undefined
        if (!this.stopping) this.timer = setTimeout(tick, this.options.pollMs ?? 50)
      })
    }

    tick()
  }

  /** The encoder has exited: read what it wrote last, mark every track ended, wake every waiter. */
  async end(): Promise<void> {
    this.stopping = true
    clearTimeout(this.timer)
    await this.polling
    await this.pollOnce()
    for (const track of this.tracks) track.end()
    this.ended = true
    this.wake()
  }

  /** Stops polling (the stream is gone); waiters are released with what there is. */
  stop(): void {
    this.stopping = true
    clearTimeout(this.timer)
    this.ended = true
    for (const track of this.tracks) track.end()
    this.wake()
  }

  private async pollOnce(): Promise<void> {
    let changed = false
    let failure: Error | undefined
    for (const track of this.tracks) {
      try {
        changed = (await track.poll()) || changed
      } catch (error) {
        // A chunk livectl cannot read is a bug or a broken encoder: report it to requests, keep the stream.
        failure = error as Error
      }
    }

    // Only while it lasts: a poll that reads every track again clears it (a stream is not broken for good by one bad read).
    this.failure = failure

    if (changed) this.wake()
  }

  private wake(): void {
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const resume of waiting) resume()
  }

  /** Resolves once `ready()` holds (checked at each change), or with false after `timeoutMs`. */
  private async waitFor(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!ready()) {
      if (this.ended) return ready()
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(done)
          resolve()
        }, left)
        const done = () => {
          clearTimeout(timer)
          resolve()
        }

        this.waiters.add(done)
      })
    }

    return true
  }

  trackOfPlaylist(playlist: string): LlTrack | undefined {
    const index = this.options.tracks.findIndex((track) => track.playlist === playlist)
    return index === -1 ? undefined : this.tracks[index]
  }

  /** The track whose segments are named like `uri` (a segment or part of it). */
  private locate(segmentUri: string): {track: LlTrack; number: number} | undefined {
    const match = /(\d+)\.m4s$/.exec(segmentUri)
    if (!match) return undefined
    const number = Number(match[1])
    for (const [index, spec] of this.options.tracks.entries()) {
      if (spec.segmentUri(number) === segmentUri) return {track: this.tracks[index] as LlTrack, number}
    }

    return undefined
  }

  /**
   * The media playlist of a track, once it holds what a blocking request asks for: segment `msn`
   * complete, or its part `part` listed. A request more than two segments ahead is refused; one
   * that is not satisfied within three target durations times out.
   */
  async playlist(playlist: string, request: BlockingRequest): Promise<string> {
    const track = this.trackOfPlaylist(playlist)
    if (!track) throw new LlNotFoundError(`${this.options.videoId} has no playlist ${playlist}`)
    if (request.msn !== undefined) {
      const msn = request.msn
      const lastMsn = lastListedMsn(track)
      if (msn > lastMsn + 2) throw new LlTooFarAheadError(`_HLS_msn=${msn} is more than two segments after the last one (${lastMsn})`)
      const ready = () => {
        const segment = track.segment(msn)
        if (!segment) return false
        if (request.part === undefined) return segment.complete
        if (segment.parts.length > request.part) return true
        // A part after the last of a complete segment: the first part of the next one.
        return segment.complete && (track.segment(msn + 1)?.parts.length ?? 0) > 0
      }

      if (!(await this.waitFor(ready, this.holdMs)) && !this.ended) {
        throw new LlTimeoutError(`${playlist} did not reach segment ${msn}${request.part === undefined ? '' : ` part ${request.part}`} in ${this.holdMs / 1000} s`)
      }
    }

    if (this.failure) throw this.failure
    return this.render(track, request.skip)
  }

  private render(track: LlTrack, skip: boolean): string {
    const reports: LlRenditionReport[] = []
    for (const [index, other] of this.tracks.entries()) {
      if (other === track) continue
      const last = other.lastPart
      if (last) reports.push({uri: (this.options.tracks[index] as LlStreamTrack).playlist, lastMsn: last.msn, lastPart: last.part})
    }

    const dated = (segment: LlTrackSegment | undefined) => (segment ? this.dated(segment) : undefined)
    return buildLlMediaPlaylist({
      initUri: track.initUri,
      segments: track.complete.map((segment) => this.dated(segment)),
      current: this.ended ? undefined : dated(track.current),
      preloadHintUri: this.ended ? undefined : track.preloadHintUri,
      targetDurationSeconds: this.targetDurationSeconds,
      partTargetSeconds: this.options.partTargetSeconds,
      windowSeconds: this.options.windowSeconds,
      renditionReports: reports,
      skip,
      ended: this.ended,
    })
  }

  /**
   * A segment with its program date time on one clock for every track: the wall clock of the first
   * chunk of the first track (its producer reference time), plus media time since. The encoder's
   * own clock per chunk is when it was encoded, which runs fast while it works off the backlog a
   * new stream starts with, and differs between tracks: players that align audio with video by
   * date (hls.js) then lose their place.
   */
  private dated(segment: LlTrackSegment): LlTrackSegment {
    const first = this.tracks[0]?.segments[0]
    if (first?.programDateTimeMs === undefined || first.startSeconds === undefined || segment.startSeconds === undefined) return {...segment, programDateTimeMs: undefined}
    return {...segment, programDateTimeMs: first.programDateTimeMs + (segment.startSeconds - first.startSeconds) * 1000}
  }

  master(): string {
    return this.options.master()
  }

  async mpd(): Promise<string> {
    try {
      const text = this.options.mpd(await readFile(path.join(this.options.workDir, 'manifest.mpd'), 'utf8'))
      if (this.ended) return text
      // The segment being written, listed once its first chunk is there (the track of Representation N is track N).
      return withSegmentsInProgress(text, (id, listed) => {
        const current = this.tracks[Number(id)]?.current
        return current !== undefined && current.parts.length > 0 && current.msn === listed
      })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new LlNotFoundError(`${this.options.videoId} has no MPD yet`)
      throw error
    }
  }

  /** The track and media sequence number of a segment asked for (itself or one of its parts): 404 if none, 400 if too far ahead. */
  private requestedSegment(segmentUri: string): {track: LlTrack; msn: number} {
    const located = this.locate(segmentUri)
    if (!located) throw new LlNotFoundError(`${this.options.videoId} has no segment ${segmentUri}`)
    const msn = located.number - 1
    if (msn > lastListedMsn(located.track) + 2) throw new LlTooFarAheadError(`${segmentUri} is more than two segments after the last one`)
    return {track: located.track, msn}
  }

  /** An init segment of one of the tracks. */
  initPath(uri: string): string | undefined {
    return this.tracks.some((track) => track.initUri === uri) ? path.join(this.options.workDir, uri) : undefined
  }

  /**
   * The bytes of part `index` of a segment, streamed as they are written: it starts once the part's
   * first bytes exist (a preload-hinted part is asked for before that) and ends with the part.
   */
  async part(segmentUri: string, index: number): Promise<{body: Readable; complete: boolean; size?: number}> {
    const {track, msn} = this.requestedSegment(segmentUri)
    // The part has begun when the part before it is complete (its first bytes follow at once).
    const begun = () => {
      const segment = track.segment(msn)
      return segment !== undefined && (segment.parts.length >= index || segment.complete)
    }

    if (!(await this.waitFor(begun, this.holdMs))) throw new LlTimeoutError(`part ${index} of ${segmentUri} did not begin in ${this.holdMs / 1000} s`)
    const segment = track.segment(msn) as LlTrackSegment
    if (segment.complete && segment.parts.length <= index) throw new LlNotFoundError(`${segmentUri} has no part ${index}`)
    const start = index === 0 ? 0 : (segment.parts[index - 1] as LlChunkPart).end
    const known = segment.parts[index]
    if (known) return {body: await this.readRange(track, segment, start, known.end), complete: true, size: known.end - start}
    return {body: this.follow(track, segment, start, () => segment.parts[index]?.end ?? (segment.complete ? segment.size : undefined)), complete: false}
  }

  /** A whole segment: read from the encoder's file in the work folder when complete, or followed while it is written. */
  async segment(segmentUri: string): Promise<{body: Readable; complete: boolean; size?: number}> {
    const {track, msn} = this.requestedSegment(segmentUri)
    const begun = () => track.segment(msn) !== undefined
    if (!(await this.waitFor(begun, this.holdMs))) throw new LlTimeoutError(`${segmentUri} did not begin in ${this.holdMs / 1000} s`)
    const segment = track.segment(msn) as LlTrackSegment
    if (segment.complete) return {body: await this.readRange(track, segment, 0, segment.size), complete: true, size: segment.size}
    return {body: this.follow(track, segment, 0, () => (segment.complete ? segment.size : undefined)), complete: false}
  }

  private async readRange(track: LlTrack, segment: LlTrackSegment, start: number, end: number): Promise<Readable> {
    const handle = await openSegmentFile(track.filePath(segment))
    return handle.createReadStream({start, end: end - 1, autoClose: true})
  }

  /**
   * Bytes from `start` of a segment being written, sent as they reach the file, until `end()`
   * names the end. The file is opened once: the encoder renaming it on completion does not matter.
   */
  private follow(track: LlTrack, segment: LlTrackSegment, start: number, end: () => number | undefined): Readable {
    const file = track.filePath(segment)
    const isEnded = () => this.ended
    async function* chunks(): AsyncGenerator<Buffer> {
      const handle = await openSegmentFile(file)
      try {
        let offset = start
        for (;;) {
          const limit = end()
          const {size} = await handle.stat()
          const available = Math.min(size, limit ?? size)
          if (available > offset) {
            const buffer = Buffer.alloc(Math.min(available - offset, 1 << 20))
            const {bytesRead} = await handle.read(buffer, 0, buffer.length, offset)
            offset += bytesRead
            yield buffer.subarray(0, bytesRead)
            continue
          }

          if (limit !== undefined && offset >= limit) return
          if (isEnded() && limit === undefined) return
          await new Promise((resolve) => setTimeout(resolve, STREAM_POLL_MS))
        }
      } finally {
        await handle.close()
      }
    }

    return Readable.from(chunks(), {objectMode: false})
  }
}
