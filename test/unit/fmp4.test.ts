/**
 * Cutting a growing CMAF segment into chunks, on segments assembled box by box: chunk boundaries,
 * decode times and durations (per-sample and default durations), key frames, the producer
 * reference time, and a file that is still being written (a chunk counts only once whole).
 */
import {Buffer} from 'node:buffer'

import {describe, expect, it} from 'vitest'

import {Fmp4Error, readInit, scanChunks} from '../../src/lib/package/fmp4.js'
import {box, chunk, NON_SYNC, styp, SYNC, u32} from '../support/fmp4-boxes.js'

describe('scanChunks', () => {
  it('finds each chunk with its byte range, decode time, duration and whether it starts with a key frame', () => {
    const first = chunk({decodeTime: 30_720, durations: [512, 512, 512], firstFlags: SYNC})
    const second = chunk({decodeTime: 32_256, durations: [512, 512], firstFlags: NON_SYNC})
    const segment = Buffer.concat([styp, first, second])
    const {chunks, next} = scanChunks(segment, 0, {timescale: 15_360})
    expect(chunks).toEqual([
      {start: 0, end: styp.length + first.length, decodeTime: 30_720, duration: 1536, independent: true},
      {start: styp.length + first.length, end: segment.length, decodeTime: 32_256, duration: 1024, independent: false},
    ])
    expect(next).toBe(segment.length)
  })

  it('uses the default sample duration of tfhd, then of trex, when samples carry none', () => {
    const own = chunk({decodeTime: 0, durations: [0, 0, 0, 0], defaultDuration: 1024})
    expect(scanChunks(own, 0, {timescale: 48_000}).chunks[0]?.duration).toBe(4096)
    const fromTrex = Buffer.concat([box('moof', box('traf', box('tfhd', u32(0, 1)), box('tfdt', u32(0), u32(7)), box('trun', u32(0, 3)))), box('mdat')])
    expect(scanChunks(fromTrex, 0, {timescale: 48_000, trex: {sampleDuration: 1024}}).chunks[0]).toMatchObject({decodeTime: 7, duration: 3072})
    expect(() => scanChunks(fromTrex, 0, {timescale: 48_000})).toThrow(Fmp4Error)
  })

  it('dates a chunk from the producer reference time before it', () => {
    // NTP 3,976,000,000 s is 2025-12-29T...; media time 15,360 (1 s) at that instant, chunk at 2 s.
    const dated = chunk({decodeTime: 30_720, durations: [512], prft: {ntpSeconds: 3_976_000_000, fraction: 2 ** 31, mediaTime: 15_360}})
    const [found] = scanChunks(dated, 0, {timescale: 15_360}).chunks
    expect(found?.wallClockMs).toBe((3_976_000_000 - 2_208_988_800) * 1000 + 500 + 1000)
  })

  it('counts only whole chunks of a file still being written, and resumes where it stopped', () => {
    const first = chunk({decodeTime: 0, durations: [512]})
    const second = chunk({decodeTime: 512, durations: [512], bytes: 5000})
    const segment = Buffer.concat([styp, first, second])
    for (const cut of [styp.length + first.length - 1, styp.length + first.length + 20, segment.length - 1]) {
      const partial = scanChunks(segment.subarray(0, cut), 0, {timescale: 15_360})
      expect(partial.chunks.length).toBe(cut >= styp.length + first.length ? 1 : 0)
      expect(partial.next).toBe(cut >= styp.length + first.length ? styp.length + first.length : 0)
    }

    const resumed = scanChunks(segment, styp.length + first.length, {timescale: 15_360})
    expect(resumed.chunks.map((found) => found.decodeTime)).toEqual([512])
  })

  it('refuses a box that declares less than its own header, and an mdat without a moof', () => {
    const broken = Buffer.concat([styp, u32(4), Buffer.from('moof')])
    expect(() => scanChunks(broken, 0, {timescale: 1})).toThrow(/declares 4 bytes/)
    expect(() => scanChunks(box('mdat', Buffer.alloc(4)), 0, {timescale: 1})).toThrow(/no moof/)
  })
})

describe('readInit', () => {
  it('reads the timescale of the first track and the defaults of trex', () => {
    const mdhd = box('mdhd', u32(0, 0, 0, 48_000, 0, 0))
    const trex = box('trex', u32(0, 1, 1, 1024, 0, NON_SYNC))
    const init = Buffer.concat([box('ftyp', Buffer.from('iso6')), box('moov', box('mvhd', u32(0)), box('trak', box('tkhd', u32(0)), box('mdia', mdhd)), box('mvex', trex))])
    expect(readInit(init)).toEqual({timescale: 48_000, trex: {sampleDuration: 1024, sampleFlags: NON_SYNC}})
    expect(() => readInit(box('ftyp'))).toThrow(/no moov/)
  })
})
