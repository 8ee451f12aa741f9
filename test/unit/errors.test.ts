import {describe, expect, it} from 'vitest'

import {slugFromPath} from '../../src/cli/paths.js'
import {avcCodecString} from '../../src/lib/media/codecs.js'
import {BugError, CancelledError, ExitCode, ExternalError, formatErrorReport, toErrorReport, UserError} from '../../src/lib/errors.js'

describe('error reports', () => {
  it('gives each kind of failure its own exit code', () => {
    expect(toErrorReport(new UserError('bad')).exitCode).toBe(ExitCode.user)
    expect(toErrorReport(new ExternalError('ffmpeg failed')).exitCode).toBe(ExitCode.external)
    expect(toErrorReport(new CancelledError('stopped')).exitCode).toBe(130)
    expect(toErrorReport(new BugError('oops')).exitCode).toBe(ExitCode.bug)
  })

  it('treats anything unexpected as a bug and says so', () => {
    const report = toErrorReport(new TypeError('x is undefined'))
    expect(report).toMatchObject({kind: 'bug', exitCode: 70})
    expect(report.message).toMatch(/this is a bug in livectl/)
    expect(toErrorReport('a string').kind).toBe('bug')
  })

  it('keeps the failed command and the tail of its stderr', () => {
    const text = formatErrorReport(toErrorReport(new ExternalError('ffmpeg exited with code 1', {command: ['ffmpeg', '-i', 'x'], stderrTail: 'line one\nline two'})))
    expect(text).toBe('Error: ffmpeg exited with code 1\n  command: ffmpeg -i x\n  | line one\n  | line two')
  })

  it('prints the hint after the message', () => {
    expect(formatErrorReport(toErrorReport(new UserError('Input file not found: a.mp4', {hint: 'Check the path.'})))).toBe('Error: Input file not found: a.mp4\n  Check the path.')
  })
})

describe('small helpers', () => {
  it('builds RFC 6381 codec strings from ffprobe profile names', () => {
    expect(avcCodecString('High', 31)).toBe('avc1.64001f')
    expect(avcCodecString('Main', 30)).toBe('avc1.4d401e')
    expect(avcCodecString('Constrained Baseline', 12)).toBe('avc1.42c00c')
  })

  it('turns any path into a safe directory name', () => {
    expect(slugFromPath('/videos/My Clip (1).mov')).toBe('my-clip-1')
    expect(slugFromPath('/')).toBe('output')
    expect(slugFromPath('/srv/..')).toBe('output')
    expect(slugFromPath('/srv/Talks/2026/..')).toBe('talks')
    expect(slugFromPath('work/talk/')).toBe('talk')
  })
})
