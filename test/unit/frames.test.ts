import {describe, expect, it} from 'vitest'

import {DEFAULT_DEVICE_PROFILES, parseDeviceProfiles} from '../../src/lib/api/device-profiles.js'
import {framePlanKey, framesFor, planFrames, segmentsInWindow, selectRendition} from '../../src/lib/api/frames.js'
import {isSafeFileName, parseRange} from '../../src/lib/api/media.js'
import {cacheControlFor, contentTypeFor} from '../../src/lib/package/media-types.js'
import type {PackageManifest, PackageSegment, PackageTrack} from '../../src/lib/package/manifest.js'

const segments = (id: string, count: number, duration = 2): PackageSegment[] =>
  Array.from({length: count}, (_, index) => ({index, file: `seg-${id}-${String(index + 1).padStart(5, '0')}.m4s`, startSeconds: index * duration, durationSeconds: duration, sizeBytes: 1000}))

const video = (id: string, name: string, width: number, height: number, bandwidth: number): PackageTrack => ({
  id, name, type: 'video', codecs: 'avc1.64001f', bandwidth, averageBandwidth: bandwidth, width, height, frameRate: 30,
  init: {file: `init-${id}.m4s`, sizeBytes: 800}, segments: segments(id, 5),
})

const pkg: PackageManifest = {
  version: 1, createdAt: '', durationSeconds: 10, segmentDurationSeconds: 2, formats: ['hls', 'dash'], hlsMaster: 'master.m3u8', dashManifest: 'manifest.mpd',
  renditions: [video('0', '1080p', 1920, 1080, 5_500_000), video('1', '720p', 1280, 720, 3_000_000), video('2', '480p', 854, 480, 1_500_000), video('3', '144p', 256, 144, 220_000)],
  audio: {id: '4', name: 'audio', type: 'audio', codecs: 'mp4a.40.2', bandwidth: 130_000, averageBandwidth: 128_000, channels: 2, sampleRate: 48000, init: {file: 'init-4.m4s', sizeBytes: 700}, segments: segments('4', 5)},
  totalFiles: 0, totalBytes: 0,
}

describe('selectRendition', () => {
  it.each([
    ['mobile', '480p'],
    ['tablet', '720p'],
    ['laptop', '1080p'],
    ['desktop', '1080p'],
    ['tv', '1080p'],
  ])('gives %s the %s rendition', (device, expected) => {
    expect(selectRendition(pkg, DEFAULT_DEVICE_PROFILES[device] as never)?.name).toBe(expected)
  })

  it('lowers the choice to fit a bandwidth hint, audio included', () => {
    expect(selectRendition(pkg, DEFAULT_DEVICE_PROFILES.desktop as never, 3200)?.name).toBe('720p')
    expect(selectRendition(pkg, DEFAULT_DEVICE_PROFILES.desktop as never, 3100)?.name).toBe('480p')
  })

  it('falls back to the smallest rendition when nothing fits', () => {
    expect(selectRendition(pkg, DEFAULT_DEVICE_PROFILES.mobile as never, 100)?.name).toBe('144p')
  })

  it('judges portrait renditions by their short side', () => {
    const portrait = {...pkg, renditions: [video('0', '1080p', 1080, 1920, 5_000_000), video('1', '480p', 480, 854, 1_400_000)]}
    expect(selectRendition(portrait, DEFAULT_DEVICE_PROFILES.mobile as never)?.name).toBe('480p')
  })
})

describe('segmentsInWindow', () => {
  const all = segments('0', 5)

  it('returns the segments overlapping the window from the offset', () => {
    expect(segmentsInWindow(all, 3, 4).map((segment) => segment.index)).toEqual([1, 2, 3])
    expect(segmentsInWindow(all, 0, 30).map((segment) => segment.index)).toEqual([0, 1, 2, 3, 4])
    expect(segmentsInWindow(all, 4, 2).map((segment) => segment.index)).toEqual([2])
  })

  it('returns nothing past the end', () => {
    expect(segmentsInWindow(all, 10, 30)).toEqual([])
    expect(segmentsInWindow(all, 99, 30)).toEqual([])
  })

  it('counts a negative offset back from the end (the live edge)', () => {
    expect(segmentsInWindow(all, -3, 30).map((segment) => segment.index)).toEqual([3, 4])
    expect(segmentsInWindow(all, -100, 3).map((segment) => segment.index)).toEqual([0, 1])
  })
})

describe('framesFor', () => {
  it('lists video frames of the chosen rendition and the audio frames, in time order, with URLs', () => {
    const frames = framesFor(pkg, {offsetSeconds: 2, windowSeconds: 4, profile: DEFAULT_DEVICE_PROFILES.tablet as never, urlFor: (file) => `https://cdn/v/${file}`})
    expect(frames.map((frame) => `${frame.type}:${frame.rendition}:${frame.index}@${frame.start}`)).toEqual([
      'video:720p:1@2', 'audio:audio:1@2', 'video:720p:2@4', 'audio:audio:2@4',
    ])
    expect(frames[0]).toEqual({
      type: 'video', index: 1, start: 2, duration: 2, rendition: '720p', width: 1280, height: 720, bandwidth: 3_000_000, codecs: 'avc1.64001f',
      url: 'https://cdn/v/seg-1-00002.m4s', initUrl: 'https://cdn/v/init-1.m4s',
    })
    expect(frames[1]).not.toHaveProperty('width')
  })

  it('gives every device the audio frames of an audio-only package, and no video', () => {
    const podcast: PackageManifest = {...pkg, renditions: [], audio: {...(pkg.audio as PackageTrack), id: '0', init: {file: 'init-0.m4s', sizeBytes: 700}, segments: segments('0', 5)}}
    const answers = Object.values(DEFAULT_DEVICE_PROFILES).map((profile) =>
      framesFor(podcast, {offsetSeconds: 2, windowSeconds: 4, profile, bandwidthHintKbps: 50, urlFor: (file) => `https://cdn/p/${file}`}))
    for (const frames of answers) expect(frames).toEqual(answers[0])
    expect(answers[0]?.map((frame) => `${frame.type}:${frame.rendition}:${frame.index}@${frame.start}`)).toEqual(['audio:audio:1@2', 'audio:audio:2@4'])
    expect(answers[0]?.[0]).toEqual({
      type: 'audio', index: 1, start: 2, duration: 2, rendition: 'audio', bandwidth: 130_000, codecs: 'mp4a.40.2',
      url: 'https://cdn/p/seg-0-00002.m4s', initUrl: 'https://cdn/p/init-0.m4s',
    })
  })
})

describe('framePlanKey', () => {
  const query = (offsetSeconds: number, device = 'tablet') => planFrames(pkg, {offsetSeconds, windowSeconds: 4, profile: DEFAULT_DEVICE_PROFILES[device] as never})

  it('is the same for offsets that select the same segments, and differs otherwise', () => {
    expect(framePlanKey(query(2.2))).toBe(framePlanKey(query(2.5)))
    expect(framePlanKey(query(2))).not.toBe(framePlanKey(query(4)))
    expect(framePlanKey(query(2))).not.toBe(framePlanKey(query(2, 'mobile')))
    expect(framePlanKey(query(99))).toBe(framePlanKey(query(120)))
  })
})

describe('device profiles', () => {
  it('reads a replacement table and rejects a malformed one', () => {
    expect(parseDeviceProfiles({phone: {maxShortSide: 360, maxBandwidthKbps: 800}})).toEqual({phone: {maxShortSide: 360, maxBandwidthKbps: 800}})
    // The earlier name of the key is still read.
    expect(parseDeviceProfiles({phone: {maxHeight: 360, maxBandwidthKbps: 800}})).toEqual({phone: {maxShortSide: 360, maxBandwidthKbps: 800}})
    expect(() => parseDeviceProfiles({phone: {maxShortSide: 'big'}})).toThrow(/needs positive maxShortSide/)
    expect(() => parseDeviceProfiles({'Bad Name': {maxShortSide: 1, maxBandwidthKbps: 1}})).toThrow(/invalid device name/)
    expect(() => parseDeviceProfiles([])).toThrow(/expected an object/)
    expect(() => parseDeviceProfiles({})).toThrow(/no devices/)
  })
})

describe('media serving rules', () => {
  it('gives manifests and segments their content types and cache policies', () => {
    expect([contentTypeFor('master.m3u8'), cacheControlFor('master.m3u8')]).toEqual(['application/vnd.apple.mpegurl', 'no-cache'])
    expect([contentTypeFor('manifest.mpd'), cacheControlFor('manifest.mpd')]).toEqual(['application/dash+xml', 'no-cache'])
    expect([contentTypeFor('seg-0-00001.m4s'), cacheControlFor('seg-0-00001.m4s')]).toEqual(['video/iso.segment', 'public, max-age=31536000, immutable'])
    expect(contentTypeFor('720p.mp4')).toBe('video/mp4')
  })

  it('accepts only flat file names', () => {
    expect(isSafeFileName('seg-0-00001.m4s')).toBe(true)
    for (const bad of ['../catalog.db', '.hidden', 'a/b.m4s', 'a..b', '', 'x y.m4s', '%2e%2e']) expect(isSafeFileName(bad), bad).toBe(false)
  })

  it('parses single byte ranges and refuses impossible ones', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({start: 0, end: 99})
    expect(parseRange('bytes=900-', 1000)).toEqual({start: 900, end: 999})
    expect(parseRange('bytes=-100', 1000)).toEqual({start: 900, end: 999})
    expect(parseRange('bytes=500-5000', 1000)).toEqual({start: 500, end: 999})
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable')
    expect(parseRange('bytes=5-1', 1000)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined()
    expect(parseRange(undefined, 1000)).toBeUndefined()
  })
})
