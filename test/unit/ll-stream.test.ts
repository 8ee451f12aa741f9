/**
 * The low-latency origin's view of a stream, on segment files written chunk by chunk in a temp
 * folder the way ffmpeg writes them (NAME.m4s.tmp growing, renamed when the next one starts):
 * the track index, blocking playlist requests, a part asked for before it exists, a segment sent
 * while it is written, and the refusals (too far ahead, timed out, not there).
 */
import {Buffer} from 'node:buffer'
import {appendFile, mkdtemp, rename, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {Parser} from 'm3u8-parser'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {LlTrack} from '../../src/lib/origin/ll-index.js'
import {LlNotFoundError, LlStream, LlTimeoutError, LlTooFarAheadError} from '../../src/lib/origin/ll-stream.js'
import {chunk, initSegment, NON_SYNC, styp, SYNC} from '../support/fmp4-boxes.js'

const TIMESCALE = 15_360
/** A third of a second at 15360 Hz, in 10 samples. */
const PART = Array.from({length: 10}, () => 512)
const segmentUri = (number: number) => `seg-0-${String(number).padStart(5, '0')}.m4s`

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'livectl-ll-stream-'))
  await writeFile(path.join(dir, 'init-0.m4s'), initSegment(TIMESCALE))
})

afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** Writes the encoder's way: chunk `index` of segment `number` (6 chunks of 1/3 s make 2 s). */
async function writeChunk(number: number, index: number, bytes = 200): Promise<Buffer> {
  const decodeTime = (number - 1) * 30_720 + index * 5120
  const data = Buffer.concat([...(index === 0 ? [styp] : []), chunk({decodeTime, durations: PART, firstFlags: index === 0 ? SYNC : NON_SYNC, bytes})])
  await appendFile(path.join(dir, `${segmentUri(number)}.tmp`), data)
  return data
}

const complete = (number: number) => rename(path.join(dir, `${segmentUri(number)}.tmp`), path.join(dir, segmentUri(number)))

function parse(text: string) {
  const parser = new Parser()
  parser.push(text)
  parser.end()
  return parser.manifest as {mediaSequence: number; segments: Array<{uri: string; duration: number; parts?: Array<{uri: string}>}>; preloadSegment?: {parts?: Array<{uri: string}>; preloadHints?: Array<{uri: string}>}; endList?: boolean}
}

function stream(options: {holdMs?: number} = {}) {
  return new LlStream({
    videoId: 'v',
    workDir: dir,
    tracks: [{playlist: 'media_0.m3u8', initUri: 'init-0.m4s', segmentUri}],
    segmentDurationSeconds: 2,
    partTargetSeconds: 0.367,
    windowSeconds: 20,
    master: () => '#EXTM3U\n',
    mpd: (text) => text,
    pollMs: 10,
    holdMs: options.holdMs,
  })
}

describe('LlTrack', () => {
  it('follows chunks as they land, segments as they complete, and names the part to wait for next', async () => {
    const track = new LlTrack({workDir: dir, initUri: 'init-0.m4s', segmentUri})
    expect(await track.poll()).toBe(false)
    await writeChunk(1, 0)
    expect(await track.poll()).toBe(true)
    expect(track.current?.parts.map((part) => part.uri)).toEqual(['seg-0-00001.p0.m4s'])
    expect(track.preloadHintUri).toBe('seg-0-00001.p1.m4s')
    await writeChunk(1, 1)
    await track.poll()
    expect(track.current?.parts).toHaveLength(2)
    // The encoder finishes segment 1 and starts segment 2 between two polls.
    await complete(1)
    await writeChunk(2, 0)
    await track.poll()
    const [first, second] = track.segments
    expect(first).toMatchObject({msn: 0, uri: 'seg-0-00001.m4s', complete: true})
    expect(first?.durationSeconds).toBeCloseTo(2 / 3, 6)
    expect(first?.parts.map((part) => part.independent)).toEqual([true, false])
    expect(second).toMatchObject({msn: 1, complete: false})
    expect(track.lastPart).toEqual({msn: 1, part: 0})
    expect(track.nextMsn).toBe(1)
    // Nothing new: no change.
    expect(await track.poll()).toBe(false)
  })
})

describe('LlStream', () => {
  it('holds a blocking playlist request until the part it asks for exists', async () => {
    await writeChunk(1, 0)
    const ll = stream()
    ll.start()
    try {
      const waiting = ll.playlist('media_0.m3u8', {msn: 0, part: 2, skip: false})
      let answered = false
      void waiting.then(() => (answered = true))
      await writeChunk(1, 1)
      // Part 1 is not what it waits for.
      await ll.playlist('media_0.m3u8', {msn: 0, part: 1, skip: false})
      expect(answered).toBe(false)
      await writeChunk(1, 2)
      const playlist = parse(await waiting)
      expect(playlist.preloadSegment?.parts?.map((part) => part.uri)).toEqual(['seg-0-00001.p0.m4s', 'seg-0-00001.p1.m4s', 'seg-0-00001.p2.m4s'])
      expect(playlist.preloadSegment?.preloadHints?.[0]?.uri).toBe('seg-0-00001.p3.m4s')
    } finally {
      ll.stop()
    }
  })

  it('waits for an init segment the encoder is still writing, and is not broken by it afterwards', async () => {
    // The encoder writes init segments in place: a poll may read one half written.
    const whole = initSegment(TIMESCALE)
    await writeFile(path.join(dir, 'init-0.m4s'), whole.subarray(0, 20))
    await writeChunk(1, 0)
    const ll = stream()
    ll.start()
    try {
      const waiting = ll.playlist('media_0.m3u8', {msn: 0, part: 0, skip: false})
      let answered = false
      void waiting.then(() => (answered = true), () => (answered = true))
      await ll.playlist('media_0.m3u8', {skip: false})
      expect(answered).toBe(false)
      await writeFile(path.join(dir, 'init-0.m4s'), whole)
      const playlist = parse(await waiting)
      expect(playlist.preloadSegment?.parts?.map((part) => part.uri)).toEqual(['seg-0-00001.p0.m4s'])
    } finally {
      ll.stop()
    }
  })

  it('refuses a request more than two segments ahead, and times out one never satisfied', async () => {
    await writeChunk(1, 0)
    const ll = stream({holdMs: 50})
    ll.start()
    try {
      // Once the stream has seen the first part, segment 0 is the live edge.
      await ll.playlist('media_0.m3u8', {msn: 0, part: 0, skip: false})
      await expect(ll.playlist('media_0.m3u8', {msn: 3, skip: false})).rejects.toThrow(LlTooFarAheadError)
      await expect(ll.playlist('media_0.m3u8', {msn: 2, skip: false})).rejects.toThrow(LlTimeoutError)
      await expect(ll.playlist('media_9.m3u8', {skip: false})).rejects.toThrow(LlNotFoundError)
      await expect(ll.part('seg-7-00001.m4s', 0)).rejects.toThrow(LlNotFoundError)
    } finally {
      ll.stop()
    }
  })

  it('answers a part asked for before it begins with its bytes once written', async () => {
    const first = await writeChunk(1, 0)
    const ll = stream()
    ll.start()
    try {
      const hinted = ll.part('seg-0-00001.m4s', 1)
      const second = await writeChunk(1, 1, 5000)
      const media = await hinted
      const bytes: Buffer[] = []
      for await (const piece of media.body) bytes.push(piece as Buffer)
      expect(Buffer.concat(bytes).equals(second)).toBe(true)
      // Part 0 of a complete segment is its first chunk, with the segment's styp.
      await complete(1)
      await writeChunk(2, 0)
      await ll.playlist('media_0.m3u8', {msn: 0, skip: false})
      const zero = await ll.part('seg-0-00001.m4s', 0)
      expect(zero).toMatchObject({complete: true, size: first.length})
      // A complete segment has no part beyond its last.
      await expect(ll.part('seg-0-00001.m4s', 2)).rejects.toThrow(LlNotFoundError)
    } finally {
      ll.stop()
    }
  })

  it('sends a segment while it is written, ending with its last chunk', async () => {
    const ll = stream()
    ll.start()
    try {
      await writeChunk(1, 0)
      const media = await ll.segment('seg-0-00001.m4s')
      expect(media.complete).toBe(false)
      const pieces: number[] = []
      const reading = (async () => {
        for await (const piece of media.body) pieces.push((piece as Buffer).length)
      })()
      for (let index = 1; index < 6; index++) await writeChunk(1, index)
      await complete(1)
      await reading
      expect(pieces.reduce((sum, length) => sum + length, 0)).toBe((await ll.segment('seg-0-00001.m4s')).size)
    } finally {
      ll.stop()
    }
  })

  it('ends its playlists when the encoder is done, and releases what waits', async () => {
    await writeChunk(1, 0)
    const ll = stream()
    ll.start()
    const waiting = ll.playlist('media_0.m3u8', {msn: 1, skip: false})
    await complete(1)
    await ll.end()
    const playlist = parse(await waiting)
    expect(playlist.endList).toBe(true)
    expect(playlist.segments.map((segment) => segment.uri)).toEqual(['seg-0-00001.m4s'])
    expect(playlist.preloadSegment).toBeUndefined()
  })
})
