import {describe, expect, it} from 'vitest'

import {chooseProgressMode, formatStepUpdate} from '../../src/cli/progress.js'
import {createProgressParser, type FfmpegProgress, progressFraction} from '../../src/lib/media/progress.js'

const block = (fields: Record<string, string>) => Object.entries(fields).map(([key, value]) => `${key}=${value}`)

describe('ffmpeg -progress parsing', () => {
  it('emits one update per block with time, speed and frame', () => {
    const updates: FfmpegProgress[] = []
    const push = createProgressParser((progress) => updates.push(progress))
    for (const line of block({frame: '120', fps: '59.9', total_size: '1048576', out_time_us: '4000000', out_time: '00:00:04.000000', speed: '1.31x', progress: 'continue'})) push(line)
    for (const line of block({frame: '300', out_time_us: '10000000', speed: '1.3x', progress: 'end'})) push(line)
    expect(updates).toEqual([
      {outTimeSeconds: 4, speed: 1.31, frame: 120, fps: 59.9, totalSizeBytes: 1048576, done: false},
      {outTimeSeconds: 10, speed: 1.3, frame: 300, fps: undefined, totalSizeBytes: undefined, done: true},
    ])
  })

  it('treats N/A and negative times as unknown', () => {
    const updates: FfmpegProgress[] = []
    const push = createProgressParser((progress) => updates.push(progress))
    for (const line of block({out_time_us: 'N/A', speed: 'N/A', progress: 'continue'})) push(line)
    for (const line of block({out_time_us: '-23220', progress: 'continue'})) push(line)
    expect(updates.map((update) => [update.outTimeSeconds, update.speed])).toEqual([[undefined, undefined], [undefined, undefined]])
  })

  it('ignores lines that are not key=value', () => {
    const updates: FfmpegProgress[] = []
    const push = createProgressParser((progress) => updates.push(progress))
    push('garbage')
    push('=value')
    push('progress=end')
    expect(updates).toHaveLength(1)
  })

  it('computes the fraction done against the duration, clamped to 0..1', () => {
    expect(progressFraction({outTimeSeconds: 5, done: false}, 20)).toBe(0.25)
    expect(progressFraction({outTimeSeconds: 25, done: false}, 20)).toBe(1)
    expect(progressFraction({outTimeSeconds: 5, done: false}, undefined)).toBeUndefined()
    expect(progressFraction({done: true}, undefined)).toBe(1)
  })
})

describe('progress rendering', () => {
  it('uses a bar on a terminal, plain lines in CI and pipes, and keeps stdout clean under --json', () => {
    expect(chooseProgressMode({json: false, stdoutIsTTY: true, stderrIsTTY: true, ci: false})).toBe('tty')
    expect(chooseProgressMode({json: false, stdoutIsTTY: true, stderrIsTTY: true, ci: true})).toBe('plain')
    expect(chooseProgressMode({json: false, stdoutIsTTY: false, stderrIsTTY: false, ci: false})).toBe('plain')
    expect(chooseProgressMode({json: true, stdoutIsTTY: false, stderrIsTTY: true, ci: false})).toBe('tty-stderr')
    expect(chooseProgressMode({json: true, stdoutIsTTY: false, stderrIsTTY: false, ci: false})).toBe('silent')
  })

  it('formats percent and speed', () => {
    expect(formatStepUpdate({fraction: 0.5, speed: 1.25})).toBe('[############------------] 50%  1.25x realtime')
    expect(formatStepUpdate({})).toBe('')
    expect(formatStepUpdate({fraction: 1, detail: '3/3 files'})).toBe('[########################] 100%  3/3 files')
  })
})
