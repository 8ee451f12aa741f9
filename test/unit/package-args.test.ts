import {describe, expect, it} from 'vitest'

import {buildMasterPlaylist} from '../../src/lib/package/hls-master.js'
import type {PackageTrack} from '../../src/lib/package/manifest.js'
import {parseFormats} from '../../src/lib/package/manifest.js'
import {buildPackageArgs, mediaPlaylistName} from '../../src/lib/package/package-args.js'
import {parseM3u8} from '../../src/lib/package/verify.js'

const valuesOf = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []))

describe('buildPackageArgs', () => {
  const args = buildPackageArgs({inputs: ['/r/720p.mp4', '/r/144p.mp4'], audioInput: 0, segmentDurationSeconds: 2, manifestPath: '/p/manifest.mpd'})

  it('copies every rendition video and the chosen audio once, without re-encoding', () => {
    expect(valuesOf(args, '-i')).toEqual(['/r/720p.mp4', '/r/144p.mp4'])
    expect(valuesOf(args, '-map')).toEqual(['0:v:0', '1:v:0', '0:a:0'])
    expect(valuesOf(args, '-c')).toEqual(['copy'])
  })

  it('writes CMAF segments for DASH with HLS playlists beside the MPD', () => {
    expect(valuesOf(args, '-f')).toEqual(['dash'])
    expect(valuesOf(args, '-dash_segment_type')).toEqual(['mp4'])
    expect(valuesOf(args, '-hls_playlist')).toEqual(['1'])
    expect(valuesOf(args, '-seg_duration')).toEqual(['2'])
    expect(valuesOf(args, '-use_timeline')).toEqual(['1'])
    expect(valuesOf(args, '-adaptation_sets')).toEqual(['id=0,streams=v id=1,streams=a'])
    expect(args.at(-1)).toBe('/p/manifest.mpd')
  })

  it('has one adaptation set for a silent package', () => {
    const silent = buildPackageArgs({inputs: ['/r/a.mp4'], segmentDurationSeconds: 1, manifestPath: 'm.mpd'})
    expect(valuesOf(silent, '-map')).toEqual(['0:v:0'])
    expect(valuesOf(silent, '-adaptation_sets')).toEqual(['id=0,streams=v'])
  })

  it('packages an audio-only source as its audio alone, in one audio adaptation set', () => {
    const podcast = buildPackageArgs({inputs: ['/r/audio.m4a'], audioInput: 0, audioOnly: true, segmentDurationSeconds: 2, manifestPath: 'm.mpd'})
    expect(valuesOf(podcast, '-i')).toEqual(['/r/audio.m4a'])
    expect(valuesOf(podcast, '-map')).toEqual(['0:a:0'])
    expect(valuesOf(podcast, '-adaptation_sets')).toEqual(['id=0,streams=a'])
    expect(valuesOf(podcast, '-c')).toEqual(['copy'])
  })

  it('names media playlists by representation id', () => {
    expect(mediaPlaylistName(3)).toBe('media_3.m3u8')
  })
})

const track = (overrides: Partial<PackageTrack>): PackageTrack => ({
  id: '0', name: '720p', type: 'video', codecs: 'avc1.64001f', bandwidth: 3_000_000, averageBandwidth: 2_800_000,
  width: 1280, height: 720, frameRate: 30, playlist: 'media_0.m3u8', init: {file: 'init-0.m4s', sizeBytes: 800}, segments: [],
  ...overrides,
})

describe('buildMasterPlaylist', () => {
  it('lists each rendition with peak BANDWIDTH including audio, RESOLUTION and CODECS, and one audio group', () => {
    const audio = track({id: '2', name: 'audio', type: 'audio', codecs: 'mp4a.40.2', bandwidth: 130_000, averageBandwidth: 128_000, width: undefined, height: undefined, frameRate: undefined, channels: 2, playlist: 'media_2.m3u8'})
    const text = buildMasterPlaylist([track({}), track({id: '1', name: '144p', codecs: 'avc1.42c00c', bandwidth: 200_000, averageBandwidth: 190_000, width: 256, height: 144, playlist: 'media_1.m3u8'})], audio)
    const master = parseM3u8(text)
    expect(master.playlists?.map((variant) => [variant.uri, variant.attributes.BANDWIDTH, variant.attributes.CODECS, variant.attributes.RESOLUTION])).toEqual([
      ['media_0.m3u8', 3_130_000, 'avc1.64001f,mp4a.40.2', {width: 1280, height: 720}],
      ['media_1.m3u8', 330_000, 'avc1.42c00c,mp4a.40.2', {width: 256, height: 144}],
    ])
    expect(master.mediaGroups?.AUDIO?.audio?.default?.uri).toBe('media_2.m3u8')
    expect(text).toContain('AVERAGE-BANDWIDTH=2928000')
    expect(text).toContain('#EXT-X-INDEPENDENT-SEGMENTS')
  })

  it('has no audio group or audio codec for a silent package', () => {
    const text = buildMasterPlaylist([track({})], undefined)
    expect(text).not.toContain('TYPE=AUDIO')
    expect(text).toContain('CODECS="avc1.64001f"')
    expect(text).not.toContain('AUDIO=')
  })
})

describe('buildMasterPlaylist for an audio-only package', () => {
  it('makes the audio playlist the one variant, with its codec and no RESOLUTION or audio group', () => {
    const audio = track({id: '0', name: 'audio', type: 'audio', codecs: 'mp4a.40.2', bandwidth: 130_000, averageBandwidth: 128_000, width: undefined, height: undefined, frameRate: undefined, channels: 2})
    const text = buildMasterPlaylist([], audio)
    const master = parseM3u8(text)
    expect(master.playlists?.map((variant) => [variant.uri, variant.attributes.BANDWIDTH, variant.attributes['AVERAGE-BANDWIDTH'], variant.attributes.CODECS])).toEqual([
      ['media_0.m3u8', 130_000, '128000', 'mp4a.40.2'],
    ])
    expect(text).not.toContain('RESOLUTION')
    expect(text).not.toContain('TYPE=AUDIO')
  })
})

describe('parseFormats', () => {
  it('accepts hls, dash or both, in any case and order, once each', () => {
    expect(parseFormats('hls,dash')).toEqual(['hls', 'dash'])
    expect(parseFormats('DASH, hls ,dash')).toEqual(['dash', 'hls'])
  })

  it('rejects unknown or empty formats', () => {
    expect(() => parseFormats('smooth')).toThrow(/Unknown format "smooth"/)
    expect(() => parseFormats(',')).toThrow(/at least one/)
  })
})
