import {describe, expect, it} from 'vitest'

import {buildKeyframeProbeArgs, findKeyframeMisalignment, parsePacketLine} from '../../src/lib/package/keyframes.js'

const every = (step: number, until: number) => Array.from({length: Math.floor(until / step) + 1}, (_, index) => index * step)

describe('keyframe alignment', () => {
  it('accepts renditions with a keyframe at every boundary', () => {
    const tracks = [
      {name: '720p', frameRate: 30, keyframes: every(2, 9), lastFrameSeconds: 9.4},
      {name: '144p', frameRate: 30, keyframes: every(2, 9), lastFrameSeconds: 9.4},
    ]
    expect(findKeyframeMisalignment(tracks, 2)).toBeUndefined()
    expect(findKeyframeMisalignment(tracks, 4)).toBeUndefined()
  })

  it('tolerates timestamps off by less than half a frame', () => {
    expect(findKeyframeMisalignment([{name: 'a', frameRate: 30, keyframes: [0, 2.01, 4.002], lastFrameSeconds: 5.9}], 2)).toBeUndefined()
  })

  it('names the rendition and the boundary that lacks a keyframe', () => {
    const tracks = [
      {name: '720p', frameRate: 30, keyframes: every(2, 8), lastFrameSeconds: 8.9},
      {name: '480p', frameRate: 30, keyframes: [0, 2, 4.5, 6, 8], lastFrameSeconds: 8.9},
    ]
    expect(findKeyframeMisalignment(tracks, 2)).toBe('480p has no keyframe at 4.000 s (segments of 2 s need one at every boundary)')
  })

  it('rejects a segment duration that is not a multiple of the GOP', () => {
    expect(findKeyframeMisalignment([{name: 'a', frameRate: 25, keyframes: every(2, 10), lastFrameSeconds: 9.96}], 3)).toMatch(/no keyframe at 3.000 s/)
  })

  it('measures boundaries from the first keyframe up to the last frame', () => {
    expect(findKeyframeMisalignment([{name: 'a', frameRate: 25, keyframes: [0.5, 2.5, 4.5], lastFrameSeconds: 6.46}], 2)).toBeUndefined()
    expect(findKeyframeMisalignment([{name: 'a', frameRate: 25, keyframes: []}].map((track) => ({...track, lastFrameSeconds: 6})), 2)).toBe('a has no keyframes at all')
  })

  it('needs no keyframe at a boundary after the last frame (audio may run a little longer)', () => {
    expect(findKeyframeMisalignment([{name: 'a', frameRate: 30, keyframes: [0], lastFrameSeconds: 1.967}], 2)).toBeUndefined()
    expect(findKeyframeMisalignment([{name: 'a', frameRate: 30, keyframes: [0], lastFrameSeconds: 2}], 2)).toMatch(/no keyframe at 2\.000 s/)
  })

  it('reads packets from ffprobe csv lines', () => {
    expect(parsePacketLine('2.000000,K_')).toEqual({seconds: 2, keyframe: true})
    expect(parsePacketLine('2.033333,__')).toEqual({seconds: 2.033333, keyframe: false})
    expect(parsePacketLine('N/A,K_')).toBeUndefined()
    expect(parsePacketLine('')).toBeUndefined()
    expect(buildKeyframeProbeArgs('x.mp4')).toEqual(['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', 'x.mp4'])
  })
})
