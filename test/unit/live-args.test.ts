/**
 * The live encoder's argv: one decode, the ladder, closed GOPs of one segment, CMAF for DASH and
 * HLS, the recording; and in low-latency mode, segments written chunk by chunk with producer
 * reference times and the LL-DASH signalling.
 */
import {describe, expect, it} from 'vitest'

import {buildLiveArgs, type LiveArgsInput, lowLatencyDashArgs} from '../../src/lib/ingest/live-args.js'
import {planLadder, standardLadder} from '../../src/lib/media/ladder.js'

const INPUT: LiveArgsInput = {
  inputUrl: 'rtmp://127.0.0.1:1935/live/KEY',
  renditions: planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['720p', '480p', '144p'])),
  hasAudio: true,
  frameRate: 30,
  segmentDurationSeconds: 2,
  preset: 'veryfast',
  manifestPath: '/data/live/v/manifest.mpd',
  recordingPath: '/data/live/v/recording.ts',
}

/** The value after a flag (the first occurrence). */
const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1]

describe('buildLiveArgs', () => {
  it('encodes every rung once with closed GOPs of one segment, into one dash muxer and a recording', () => {
    const args = buildLiveArgs(INPUT)
    expect(args.filter((arg) => arg === '-i')).toHaveLength(1)
    expect(valueOf(args, '-g')).toBe('60')
    expect(valueOf(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)')
    expect(valueOf(args, '-f')).toBe('dash')
    expect(valueOf(args, '-seg_duration')).toBe('2')
    expect(args.filter((arg) => arg === '-map').length).toBe(4 + 2)
    expect(args.at(-1)).toBe('/data/live/v/recording.ts')
    // Segments only, no chunking, without low latency.
    expect(args).not.toContain('-streaming')
    expect(args).not.toContain('-ldash')
  })

  it('starts the audio on the picture\'s timeline: silence up to its first sample, no edit-list offset', () => {
    const graph = valueOf(buildLiveArgs(INPUT), '-filter_complex') as string
    expect(graph).toContain('aresample=async=1:first_pts=0[a]')
    expect(valueOf(buildLiveArgs({...INPUT, hasAudio: false}), '-filter_complex')).not.toContain('[0:a:0]')
  })

  it('writes segments chunk by chunk with LL-DASH signalling in low-latency mode, into the same muxer', () => {
    const lowLatency = {partSeconds: 0.333, targetLatencySeconds: 1.5, utcTimingUrl: 'http://origin.example:8090/clock'}
    const args = buildLiveArgs({...INPUT, lowLatency})
    const muxer = args.slice(args.indexOf('-f'), args.indexOf(INPUT.manifestPath))
    expect(muxer.join(' ')).toContain(lowLatencyDashArgs(lowLatency).join(' '))
    expect(valueOf(args, '-frag_duration')).toBe('0.333')
    expect(valueOf(args, '-utc_timing_url')).toBe('http://origin.example:8090/clock')
    // Same segments and GOPs as without.
    expect(valueOf(args, '-seg_duration')).toBe('2')
    expect(valueOf(args, '-g')).toBe('60')
  })
})

describe('lowLatencyDashArgs', () => {
  it('streams chunks of the part duration with producer reference times', () => {
    expect(lowLatencyDashArgs({partSeconds: 0.5, targetLatencySeconds: 2, utcTimingUrl: 'http://o/clock'})).toEqual([
      '-streaming', '1', '-ldash', '1', '-frag_type', 'duration', '-frag_duration', '0.5', '-write_prft', '1', '-target_latency', '2', '-utc_timing_url', 'http://o/clock',
    ])
  })
})
