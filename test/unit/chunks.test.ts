/** Chunked encoding's plan and argv: whole segments per chunk, frame-exact cuts, one audio encode, joins by copy. */
import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {buildAudioArgs, buildChunkArgs, buildJoinArgs, chunkPrerollSeconds, concatList, planChunks} from '../../src/lib/media/chunks.js'
import {planLadder, standardLadder} from '../../src/lib/media/ladder.js'

const valueOf = (args: string[], flag: string) => args[args.indexOf(flag) + 1]

describe('planChunks', () => {
  it('cuts at segment boundaries by frame count; the last chunk takes the rest', () => {
    expect(planChunks({durationSeconds: 10, frameRate: 30, chunkSeconds: 4, segmentDurationSeconds: 2})).toEqual([
      {index: 0, startSeconds: 0, frames: 120, prerollFrames: 0},
      {index: 1, startSeconds: 4, frames: 120, prerollFrames: 0},
      {index: 2, startSeconds: 8, prerollFrames: 0},
    ])
    // 29.97 fps: starts are whole frames (a chunk of 4 s at 30000/1001 is 120 frames).
    const ntsc = planChunks({durationSeconds: 9, frameRate: 30000 / 1001, chunkSeconds: 4, segmentDurationSeconds: 2})
    expect(ntsc.map((chunk) => chunk.frames)).toEqual([120, 120, undefined])
    expect(ntsc[1]?.startSeconds).toBeCloseTo(120 * 1001 / 30000, 9)
  })

  it('is one chunk when the source is shorter than a chunk, and none is empty when it ends on a boundary', () => {
    expect(planChunks({durationSeconds: 3, frameRate: 25, chunkSeconds: 4, segmentDurationSeconds: 2})).toEqual([{index: 0, startSeconds: 0, prerollFrames: 0}])
    expect(planChunks({durationSeconds: 8, frameRate: 25, chunkSeconds: 4, segmentDurationSeconds: 2})).toHaveLength(2)
  })

  it('gives every chunk but the first a pre-roll of whole segments covering the longest VBV buffer and at least 3 s', () => {
    // The default ladder's buffers are 1.4 s (bufsize 1.5x, maxrate 1.07x the bitrate).
    const ladder = planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['1080p', '720p', '144p']))
    expect(chunkPrerollSeconds(ladder, 2)).toBe(4)
    expect(chunkPrerollSeconds(ladder, 1)).toBe(3)
    expect(chunkPrerollSeconds([{bufferSizeKbps: 4000, maxRateKbps: 1000}], 1)).toBe(4)
    expect(chunkPrerollSeconds([{bufferSizeKbps: 4500, maxRateKbps: 1000}], 2)).toBe(6)
    // A short buffer (the capped modes' half segment): still 3 s, rate control's own warm-up.
    expect(chunkPrerollSeconds([{bufferSizeKbps: 500, maxRateKbps: 1000}], 1)).toBe(3)
    expect(chunkPrerollSeconds([{bufferSizeKbps: 500, maxRateKbps: 1000}], 0.5)).toBe(3)
    const chunks = planChunks({durationSeconds: 10, frameRate: 30, chunkSeconds: 2, segmentDurationSeconds: 1, prerollSeconds: 3})
    // Never before the source's start.
    expect(chunks.map((chunk) => chunk.prerollFrames)).toEqual([0, 60, 90, 90, 90])
  })

  it('refuses a chunk length that is not a whole number of segments, suggesting one', () => {
    expect(() => planChunks({durationSeconds: 10, frameRate: 30, chunkSeconds: 5, segmentDurationSeconds: 2})).toThrow(UserError)
    expect(() => planChunks({durationSeconds: 10, frameRate: 30, chunkSeconds: 5, segmentDurationSeconds: 2})).toThrow(/whole number of segments/)
    expect(() => planChunks({durationSeconds: 10, frameRate: 30, chunkSeconds: 0, segmentDurationSeconds: 2})).toThrow(UserError)
  })
})

describe('chunk argv', () => {
  const renditions = planLadder({displayWidth: 1920, displayHeight: 1080}, standardLadder(['720p', '144p']))

  it('encodes a chunk\'s video ladder from an exact seek, for a frame count, with the one-process encoder settings', () => {
    const args = buildChunkArgs({input: 'in.mp4', renditions, outputs: ['a.mp4', 'b.mp4'], chunk: {index: 1, startSeconds: 4, frames: 120, prerollFrames: 0}, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast'})
    expect(args.indexOf('-ss')).toBeLessThan(args.indexOf('-i'))
    expect(valueOf(args, '-ss')).toBe('4.000000')
    expect(args.filter((arg) => arg === '-frames:v')).toHaveLength(2)
    expect(valueOf(args, '-frames:v')).toBe('120')
    expect(valueOf(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)')
    expect(valueOf(args, '-g')).toBe('60')
    // Video only: the audio is encoded once for the whole file.
    expect(args).not.toContain('-c:a')
    expect(valueOf(args, '-filter_complex')).not.toContain('[0:a')
    // The last chunk runs to the end.
    expect(buildChunkArgs({input: 'in.mp4', renditions, outputs: ['a.mp4', 'b.mp4'], chunk: {index: 2, startSeconds: 8, prerollFrames: 0}, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast'})).not.toContain('-frames:v')
  })

  it('starts a chunk with a pre-roll where its own forced keyframes fall on the chunk\'s start', () => {
    const args = buildChunkArgs({input: 'in.mp4', renditions, outputs: ['a.mp4', 'b.mp4'], chunk: {index: 1, startSeconds: 4, frames: 120, prerollFrames: 60}, frameRate: 30, segmentDurationSeconds: 2, preset: 'veryfast'})
    expect(valueOf(args, '-ss')).toBe('2.000000')
    expect(valueOf(args, '-frames:v')).toBe('180')
    expect(concatList(['/w/0.mp4', '/w/1.mp4'], [0, 2])).toBe("file '/w/0.mp4'\nfile '/w/1.mp4'\ninpoint 2.000000\n")
  })

  it('encodes the audio once and joins by stream copy', () => {
    expect(buildAudioArgs('in.mp4', 128, 'audio.m4a')).toEqual(expect.arrayContaining(['-vn', '-c:a', 'aac', '-b:a', '128k']))
    const join = buildJoinArgs('list.txt', 'audio.m4a', 'out.mp4')
    expect(join.slice(join.indexOf('-f'), join.indexOf('-f') + 6)).toEqual(['-f', 'concat', '-safe', '0', '-i', 'list.txt'])
    expect(valueOf(join, '-c')).toBe('copy')
    expect(buildJoinArgs('list.txt', undefined, 'out.mp4')).not.toContain('1:a:0')
    expect(concatList(['/w/0.mp4', "/w/it's.mp4"])).toBe("file '/w/0.mp4'\nfile '/w/it'\\''s.mp4'\n")
  })
})
