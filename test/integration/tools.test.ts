/**
 * Which ffprobe livectl runs and what happens when a tool crashes: the ffprobe of ffmpeg's own
 * build reads MPEG-TS (the npm package's static one dies on it), `doctor` warns about mismatched
 * builds, and a tool killed by a signal is an external failure, never "not a media file".
 */
import {existsSync} from 'node:fs'
import {chmod, mkdir, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {probeSource} from '../../src/lib/media/probe.js'
import {resolveTool} from '../../src/lib/media/tools.js'
import {runCli} from '../support/cli.js'
import {makeClip, makeTempDir} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}
let clip: string

beforeAll(async () => {
  work = await makeTempDir('livectl-tools-')
  clip = await makeClip(work.dir, 'clip.mp4', {width: 320, height: 180, durationSeconds: 1, audio: 'none'})
})

afterAll(async () => {
  await work?.cleanup()
})

async function writeScript(file: string, body: string): Promise<string> {
  await mkdir(path.dirname(file), {recursive: true})
  await writeFile(file, `#!/bin/sh\n${body}\n`)
  await chmod(file, 0o755)
  return file
}

describe('ffprobe from the build of the ffmpeg livectl runs', () => {
  it('reads an H.264/AAC MPEG-TS source with the ffprobe it picks by default', async () => {
    const ffmpeg = resolveTool('ffmpeg')
    if (existsSync(path.join(path.dirname(ffmpeg.path), 'ffprobe'))) {
      expect(resolveTool('ffprobe')).toMatchObject({path: path.join(path.dirname(ffmpeg.path), 'ffprobe'), source: 'beside-ffmpeg'})
    }

    const ts = await makeClip(work.dir, 'clip.ts', {width: 320, height: 180, durationSeconds: 2, audio: 'stereo'})
    const facts = await probeSource(ts)
    expect(facts.formatName).toBe('mpegts')
    expect(facts.video).toMatchObject({codec: 'h264', width: 320, height: 180})
    expect(facts.audio?.codec).toBe('aac')
  })

  it('doctor warns, without failing, when ffprobe comes from another build than ffmpeg', async () => {
    const npmFfprobe = (createRequire(import.meta.url)('@ffprobe-installer/ffprobe') as {path: string}).path
    const same = await runCli(['doctor', '--json'])
    expect(same.exitCode, same.stderr).toBe(0)
    expect(JSON.parse(same.stdout)).toMatchObject({ok: true, warnings: []})

    const mixed = await runCli(['doctor', '--json'], {env: {LIVECTL_FFPROBE: npmFfprobe}})
    expect(mixed.exitCode, mixed.stderr).toBe(0)
    const report = JSON.parse(mixed.stdout) as {ok: boolean; ffmpeg: {version: string}; ffprobe: {version: string; source: string}; warnings: string[]}
    expect(report).toMatchObject({ok: true, ffprobe: {source: 'env'}})
    expect(report.ffprobe.version).not.toBe(report.ffmpeg.version)
    expect(report.warnings).toEqual([expect.stringMatching(/different builds/)])

    const human = await runCli(['doctor'], {env: {LIVECTL_FFPROBE: npmFfprobe}})
    expect(human.exitCode).toBe(0)
    expect(human.stdout).toMatch(/^warning: .*different builds/m)
    expect(human.stdout).toContain(`ffprobe: ${npmFfprobe} (env) version ${report.ffprobe.version}`)
  })
})

describe('a tool killed by a signal', () => {
  it('is an external failure (exit 3) naming the crashed ffprobe and the signal, not "not a media file"', async () => {
    const crashing = await writeScript(path.join(work.dir, 'crashing', 'ffprobe'), 'kill -SEGV $$')
    const result = await runCli(['transcode', clip, '-o', path.join(work.dir, 'never-probe'), '--ladder', '144p', '--preset', 'ultrafast'], {env: {LIVECTL_FFPROBE: crashing}})
    expect(result.exitCode, result.stderr).toBe(3)
    expect(result.stderr).toContain(`${crashing} was killed by SIGSEGV`)
    expect(result.stderr).toContain('livectl doctor')
    expect(result.stderr).toContain('LIVECTL_FFPROBE')
    expect(result.stderr).not.toMatch(/not a media file/)
    expect(existsSync(path.join(work.dir, 'never-probe'))).toBe(false)
  })

  it('is an external failure (exit 3) when the encoding ffmpeg crashes', async () => {
    const system = resolveTool('ffmpeg').path
    // Answers -version as the real ffmpeg (the version check passes), crashes on any real work.
    const crashing = await writeScript(path.join(work.dir, 'crashing-encoder', 'ffmpeg'), `case " $* " in *" -version "*) exec "${system}" "$@";; esac\nkill -SEGV $$`)
    const result = await runCli(['transcode', clip, '-o', path.join(work.dir, 'never-encode'), '--ladder', '144p', '--preset', 'ultrafast'], {env: {LIVECTL_FFMPEG: crashing}})
    expect(result.exitCode, result.stderr).toBe(3)
    expect(result.stderr).toMatch(/ffmpeg was killed by SIGSEGV/)
    expect(result.stderr).toContain(crashing)
    expect(existsSync(path.join(work.dir, 'never-encode'))).toBe(false)
  })
})
