/**
 * Low-latency HLS media playlists, read back with m3u8-parser (the parser video.js uses): server
 * control, part information, parts only near the live edge, the preload hint, rendition reports,
 * program date times, delta updates, the end; and the blocking-request query.
 */
import {Parser} from 'm3u8-parser'
import {describe, expect, it} from 'vitest'

import {BlockingRequestError, buildLlMediaPlaylist, type LlPlaylistInput, type LlSegment, parseBlockingRequest, parsePartUri, partUri} from '../../src/lib/package/ll-hls.js'

interface ParsedPlaylist {
  targetDuration: number
  mediaSequence: number
  endList?: boolean
  serverControl?: {canBlockReload?: boolean; canSkipUntil?: number; partHoldBack?: number}
  partInf?: {partTarget: number}
  skip?: {skippedSegments: number}
  renditionReports?: Array<{uri: string; lastMsn: number; lastPart: number}>
  segments: Array<{uri: string; duration: number; dateTimeString?: string; parts?: Array<{uri: string; duration: number; independent?: boolean}>}>
  /** The parts after the last complete segment (the segment being written). */
  preloadSegment?: {parts?: Array<{uri: string; duration: number}>; preloadHints?: Array<{type: string; uri: string}>}
}

function parse(text: string): ParsedPlaylist {
  const parser = new Parser()
  parser.push(text)
  parser.end()
  return parser.manifest as unknown as ParsedPlaylist
}

const START_MS = Date.parse('2026-12-01T10:00:00.000Z')

/** Segments of 2 s, each in 6 parts of 1/3 s; the first part of each is a key frame. */
function segment(msn: number, parts = 6): LlSegment {
  return {
    msn,
    uri: `seg-0-${String(msn + 1).padStart(5, '0')}.m4s`,
    durationSeconds: (2 * parts) / 6,
    programDateTimeMs: START_MS + msn * 2000,
    parts: Array.from({length: parts}, (_, index) => ({uri: partUri(`seg-0-${String(msn + 1).padStart(5, '0')}.m4s`, index), durationSeconds: 1 / 3, independent: index === 0})),
  }
}

function input(overrides: Partial<LlPlaylistInput> = {}): LlPlaylistInput {
  return {
    initUri: 'init-0.m4s',
    segments: Array.from({length: 20}, (_, msn) => segment(msn)),
    current: segment(20, 2),
    preloadHintUri: partUri('seg-0-00021.m4s', 2),
    targetDurationSeconds: 2,
    partTargetSeconds: 0.383,
    windowSeconds: 30,
    renditionReports: [{uri: 'media_1.m3u8', lastMsn: 20, lastPart: 1}, {uri: 'media_3.m3u8', lastMsn: 20, lastPart: 2}],
    ended: false,
    ...overrides,
  }
}

describe('buildLlMediaPlaylist', () => {
  it('carries server control, part information, the preload hint and a report for every other rendition', () => {
    const playlist = parse(buildLlMediaPlaylist(input()))
    expect(playlist.serverControl).toMatchObject({canBlockReload: true, canSkipUntil: 12, partHoldBack: 0.958})
    expect(playlist.partInf).toEqual({partTarget: 0.383})
    expect(playlist.preloadSegment?.preloadHints).toEqual([{type: 'PART', uri: 'seg-0-00021.p2.m4s'}])
    expect(playlist.renditionReports).toEqual([{uri: 'media_1.m3u8', lastMsn: 20, lastPart: 1}, {uri: 'media_3.m3u8', lastMsn: 20, lastPart: 2}])
    expect(playlist.endList).toBeUndefined()
  })

  it('lists the DVR window of segments with their times, and parts only within three target durations of the edge', () => {
    const playlist = parse(buildLlMediaPlaylist(input()))
    // 30 s of 2 s segments, then the parts of the one being written.
    expect(playlist.mediaSequence).toBe(5)
    const complete = playlist.segments
    expect(complete.map((entry) => entry.uri)).toEqual(Array.from({length: 15}, (_, index) => `seg-0-${String(index + 6).padStart(5, '0')}.m4s`))
    expect(complete[0]?.dateTimeString).toBe(new Date(START_MS + 5 * 2000).toISOString())
    const withParts = complete.filter((entry) => (entry.parts ?? []).length > 0).map((entry) => entry.uri)
    // The current segment has 2/3 s; 2 s + 2 s more reach 4.67 s, the next would pass 6 s.
    expect(withParts).toEqual(['seg-0-00018.m4s', 'seg-0-00019.m4s', 'seg-0-00020.m4s'])
    expect(complete.at(-1)?.parts?.[0]).toEqual({uri: 'seg-0-00020.p0.m4s', duration: 0.33333, independent: true})
    expect(playlist.preloadSegment?.parts?.map((part) => part.uri)).toEqual(['seg-0-00021.p0.m4s', 'seg-0-00021.p1.m4s'])
  })

  it('skips the segments older than CAN-SKIP-UNTIL in a delta update', () => {
    const full = parse(buildLlMediaPlaylist(input()))
    const delta = parse(buildLlMediaPlaylist(input({skip: true})))
    // 15 segments (30 s) + 2/3 s; those ending more than 12 s before the edge go: 9 of them.
    expect(delta.skip).toEqual({skippedSegments: 9})
    expect(delta.mediaSequence).toBe(full.mediaSequence)
    expect(delta.segments.map((entry) => entry.uri)).toEqual(full.segments.slice(9).map((entry) => entry.uri))
    // A window shorter than CAN-SKIP-UNTIL has nothing to skip.
    expect(parse(buildLlMediaPlaylist(input({skip: true, windowSeconds: 10}))).skip).toBeUndefined()
  })

  it('ends with EXT-X-ENDLIST, no hint and no reports, once the stream ended', () => {
    const text = buildLlMediaPlaylist(input({current: undefined, preloadHintUri: undefined, ended: true}))
    const playlist = parse(text)
    expect(playlist.endList).toBe(true)
    expect(playlist.preloadSegment).toBeUndefined()
    expect(text).not.toContain('RENDITION-REPORT')
  })

  it('starts empty before the first segment is complete, with the parts so far', () => {
    const playlist = parse(buildLlMediaPlaylist(input({segments: [], current: segment(0, 1), preloadHintUri: partUri('seg-0-00001.m4s', 1)})))
    expect(playlist.mediaSequence).toBe(0)
    expect(playlist.segments).toHaveLength(0)
    expect(playlist.preloadSegment?.parts?.map((part) => part.uri)).toEqual(['seg-0-00001.p0.m4s'])
  })
})

describe('part URIs', () => {
  it('name a part of a segment, and are read back; other names are not parts', () => {
    expect(partUri('live-seg-2-00015.m4s', 4)).toBe('live-seg-2-00015.p4.m4s')
    expect(parsePartUri('live-seg-2-00015.p4.m4s')).toEqual({segmentUri: 'live-seg-2-00015.m4s', index: 4})
    expect(parsePartUri('seg-2-00015.m4s')).toBeUndefined()
    expect(parsePartUri('init-0.m4s')).toBeUndefined()
  })
})

describe('parseBlockingRequest', () => {
  it('reads _HLS_msn, _HLS_part and _HLS_skip', () => {
    expect(parseBlockingRequest({})).toEqual({msn: undefined, part: undefined, skip: false})
    expect(parseBlockingRequest({_HLS_msn: '21', _HLS_part: '3', _HLS_skip: 'YES'})).toEqual({msn: 21, part: 3, skip: true})
  })

  it('refuses a part without a sequence number and values that are not integers', () => {
    expect(() => parseBlockingRequest({_HLS_part: '1'})).toThrow(BlockingRequestError)
    expect(() => parseBlockingRequest({_HLS_msn: '-1'})).toThrow(/_HLS_msn/)
    expect(() => parseBlockingRequest({_HLS_msn: '1.5'})).toThrow(/_HLS_msn/)
    expect(() => parseBlockingRequest({_HLS_skip: 'NO'})).toThrow(/_HLS_skip/)
  })
})
