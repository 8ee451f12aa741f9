/**
 * The chunks of a live track as ffmpeg writes them: the encoder writes each segment as
 * `NAME.m4s.tmp`, a chunk (`prft`+`moof`+`mdat`) at a time, and renames it to `NAME.m4s` when the
 * next one starts. This follows one track's files in the work folder, finds each complete chunk
 * (an LL-HLS part) as it lands, and wakes whoever waits for a part or a segment.
 *
 * It holds byte offsets, never media: parts are read from the files when asked for.
 */
import {Buffer} from 'node:buffer'
import {open, readFile} from 'node:fs/promises'
import path from 'node:path'

import {type Fmp4Chunk, Fmp4Error, readInit, scanChunks} from '../package/fmp4.js'
import type {LlPart, LlSegment} from '../package/ll-hls.js'
import {partUri} from '../package/ll-hls.js'

export interface LlChunkPart extends LlPart {
  start: number
  end: number
}

export interface LlTrackSegment extends LlSegment {
  parts: LlChunkPart[]
  /** Media time of its first sample (seconds, the stream's timeline: the same for every track). */
  startSeconds?: number
  /** Bytes of the segment so far (its size once complete). */
  size: number
  complete: boolean
}

export interface LlTrackOptions {
  workDir: string
  /** Init segment file name, e.g. init-0.m4s. */
  initUri: string
  /** The media segment file name of a segment number (ffmpeg counts from 1), e.g. seg-0-00001.m4s. */
  segmentUri: (number: number) => string
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT'

export class LlTrack {
  /** Complete segments, then at most one being written (the last, when not complete). */
  readonly segments: LlTrackSegment[] = []
  private init: {timescale: number; trex: {sampleDuration?: number; sampleFlags?: number}} | undefined
  private scanned = 0
  private ended = false

  constructor(private readonly options: LlTrackOptions) {}

  get initUri(): string {
    return this.options.initUri
  }

  get isEnded(): boolean {
    return this.ended
  }

  get timescale(): number | undefined {
    return this.init?.timescale
  }

  /** The segment being written, if any. */
  get current(): LlTrackSegment | undefined {
    const last = this.segments.at(-1)
    return last && !last.complete ? last : undefined
  }

  get complete(): LlTrackSegment[] {
    return this.segments.filter((segment) => segment.complete)
  }

  /** The media sequence number of the segment after the last complete one. */
  get nextMsn(): number {
    return this.segments.filter((segment) => segment.complete).length
  }

  /** The last part listed: its segment's msn and its index, or undefined before the first part. */
  get lastPart(): {msn: number; part: number} | undefined {
    for (let index = this.segments.length - 1; index >= 0; index--) {
      const segment = this.segments[index] as LlTrackSegment
      if (segment.parts.length > 0) return {msn: segment.msn, part: segment.parts.length - 1}
    }

    return undefined
  }

  /** Where a player should wait next: the part after the last one listed. */
  get preloadHintUri(): string | undefined {
    const current = this.current
    if (current) return partUri(current.uri, current.parts.length)
    return this.ended ? undefined : partUri(this.options.segmentUri(this.segments.length + 1), 0)
  }

  segment(msn: number): LlTrackSegment | undefined {
    return this.segments[msn]
  }

  /** The file that holds a segment's bytes now: the growing `.tmp` or the complete file. */
  filePath(segment: LlTrackSegment): string {
    return path.join(this.options.workDir, segment.complete ? segment.uri : `${segment.uri}.tmp`)
  }

  /** Marks the track ended: the encoder has exited and renamed its last segment. */
  end(): void {
    this.ended = true
  }

  /** Looks for new chunks and segments. Returns whether anything changed. */
  async poll(): Promise<boolean> {
    if (!this.init) {
      try {
        this.init = readInit(await readFile(path.join(this.options.workDir, this.options.initUri)))
      } catch (error) {
        // The encoder writes the init segment in place: until it is whole, the track has not begun.
        if (isMissing(error) || error instanceof Fmp4Error) return false
        throw error
      }
    }

    let changed = false
    // A segment may complete and the next begin between two polls: follow them all.
    for (;;) {
      const number = this.current ? this.current.msn + 1 : this.segments.length + 1
      const uri = this.options.segmentUri(number)
      const done = await this.read(path.join(this.options.workDir, uri))
      if (done !== undefined) {
        changed = this.apply(uri, number, done, true) || changed
        continue
      }

      const growing = await this.read(path.join(this.options.workDir, `${uri}.tmp`))
      if (growing === undefined) break
      changed = this.apply(uri, number, growing, false) || changed
      break
    }

    return changed
  }

  /** New chunks from a segment file (undefined when the file does not exist). */
  private async read(file: string): Promise<{chunks: Fmp4Chunk[]; next: number; size: number} | undefined> {
    let handle
    try {
      handle = await open(file, 'r')
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }

    try {
      const {size} = await handle.stat()
      const from = this.current?.uri && file.startsWith(path.join(this.options.workDir, this.current.uri)) ? this.scanned : 0
      if (size <= from) return {chunks: [], next: from, size}
      const buffer = Buffer.alloc(size - from)
      const {bytesRead} = await handle.read(buffer, 0, buffer.length, from)
      const found = scanChunks(buffer.subarray(0, bytesRead), 0, this.init as {timescale: number})
      return {chunks: found.chunks.map((chunk) => ({...chunk, start: chunk.start + from, end: chunk.end + from})), next: found.next + from, size: from + bytesRead}
    } finally {
      await handle.close()
    }
  }

  private apply(uri: string, number: number, found: {chunks: Fmp4Chunk[]; next: number; size: number}, complete: boolean): boolean {
    const timescale = (this.init as {timescale: number}).timescale
    let segment = this.current
    if (!segment || segment.uri !== uri) {
      segment = {msn: number - 1, uri, durationSeconds: 0, parts: [], size: 0, complete: false}
      this.segments.push(segment)
      this.scanned = 0
    }

    const before = segment.parts.length
    for (const chunk of found.chunks) {
      if (segment.parts.length === 0) {
        segment.startSeconds = chunk.decodeTime / timescale
        if (chunk.wallClockMs !== undefined) segment.programDateTimeMs = chunk.wallClockMs
      }

      segment.parts.push({
        uri: partUri(uri, segment.parts.length),
        durationSeconds: chunk.duration / timescale,
        independent: chunk.independent,
        start: chunk.start,
        end: chunk.end,
      })
      segment.durationSeconds += chunk.duration / timescale
    }

    this.scanned = found.next
    segment.size = found.next
    if (complete) {
      segment.complete = true
      this.scanned = 0
    }

    return complete || segment.parts.length !== before
  }
}
