/** The CLI as a whole: help, doctor, the demo (the README's main job), ffmpeg checks, the oclif manifest. */
import {chmod, readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ROOT, runCli, startCli} from '../support/cli.js'
import {makeClip, makeTempDir} from '../support/media.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-cli-')
})

afterAll(async () => {
  await work?.cleanup()
})

const COMMANDS = ['demo', 'doctor', 'segment', 'transcode', 'serve', 'comment', 'videos add', 'videos list', 'videos show', 'db migrate', 'db status']

describe('livectl', () => {
  it.each(COMMANDS)('%s --help shows usage, flags including --json, and examples', async (command) => {
    const result = await runCli([...command.split(' '), '--help'])
    expect(result.exitCode).toBe(0)
    expect(result.stdout).toContain('USAGE')
    expect(result.stdout).toContain('--json')
    expect(result.stdout).toContain('EXAMPLES')
  })

  it('has an oclif manifest generated from the compiled commands, with every flag', async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>}
    const commandsDir = path.join(ROOT, 'dist', 'commands')
    const files = (await readdir(commandsDir, {recursive: true})).filter((file) => file.endsWith('.js'))
    const compiled = files.map((file) => file.replace(/\.js$/, '').split(path.sep).join(':'))
    expect(Object.keys(manifest.commands).sort()).toEqual([...compiled].sort())
    for (const id of compiled) {
      const {default: command} = (await import(path.join(commandsDir, `${id.split(':').join(path.sep)}.js`))) as {default: {flags?: Record<string, unknown>; baseFlags?: Record<string, unknown>; enableJsonFlag?: boolean}}
      const declared = [...new Set([...Object.keys({...command.baseFlags, ...command.flags}), ...(command.enableJsonFlag ? ['json'] : [])])].sort()
      expect(Object.keys(manifest.commands[id]?.flags ?? {}).sort(), id).toEqual(declared)
    }
  })

  it('rejects an unknown flag with exit code 2', async () => {
    const result = await runCli(['transcode', 'x.mp4', '--bogus'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/Nonexistent flag: --bogus/)
  })

  it('doctor --json reports the tools and every capability', async () => {
    const result = await runCli(['doctor', '--json'])
    expect(result.exitCode).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report.ok).toBe(true)
    expect(report.ffmpeg).toMatchObject({found: true, supported: true})
    expect(report.ffmpeg.major).toBeGreaterThanOrEqual(5)
    expect(Object.values(report.capabilities)).toEqual(Array(7).fill(true))
  })

  it('refuses an ffmpeg older than 5.0 and says how to get a newer one', async () => {
    const fake = path.join(work.dir, 'old-ffmpeg')
    await writeFile(fake, '#!/bin/sh\necho "ffmpeg version 4.4.2 Copyright (c) 2000-2021"\necho "libavcodec     58.134.100 / 58.134.100"\n')
    await chmod(fake, 0o755)
    const clip = await makeClip(work.dir, 'clip.mp4', {width: 160, height: 90, durationSeconds: 1, audio: 'none'})
    const result = await runCli(['transcode', clip, '-o', path.join(work.dir, 'never')], {env: {LIVECTL_FFMPEG: fake}})
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/is FFmpeg 4\.4\.2, but livectl needs FFmpeg 5\.0 or newer/)
    expect(result.stderr).toMatch(/apt-get install -y --no-install-recommends ffmpeg/)

    const doctor = await runCli(['doctor', '--json'], {env: {LIVECTL_FFMPEG: fake}})
    expect(doctor.exitCode).toBe(2)
    expect(JSON.parse(doctor.stdout)).toMatchObject({ok: false, ffmpeg: {supported: false, version: '4.4.2'}})
  })

  it('says which tool is missing when LIVECTL_FFMPEG points nowhere', async () => {
    const result = await runCli(['doctor'], {env: {LIVECTL_FFMPEG: path.join(work.dir, 'missing-ffmpeg')}})
    expect(result.exitCode).toBe(2)
    expect(result.stdout).toMatch(/ffmpeg: not found/)
  })

  it('demo generates, transcodes, packages and publishes a clip into the data directory', async () => {
    const dataDir = path.join(work.dir, 'data')
    const result = await runCli(['demo', '--duration', '2', '--size', '640x360', '--preset', 'ultrafast', '--json'], {env: {LIVECTL_DATA_DIR: dataDir}})
    expect(result.exitCode).toBe(0)
    const demo = JSON.parse(result.stdout)
    expect(demo).toMatchObject({
      sourceFile: path.join(dataDir, 'demo', 'source.mp4'),
      hlsMaster: path.join(dataDir, 'jobs', 'demo', 'package', 'master.m3u8'),
      dashManifest: path.join(dataDir, 'jobs', 'demo', 'package', 'manifest.mpd'),
      renditions: [{name: '144p', width: 256, height: 144}],
      videoId: 'demo',
      publishedTo: `file://${path.join(dataDir, 'media')}/demo`,
    })
    const show = await runCli(['videos', 'show', 'demo', '--json'], {env: {LIVECTL_DATA_DIR: dataDir}})
    expect(JSON.parse(show.stdout)).toMatchObject({id: 'demo', status: 'ready'})
    expect(await readdir(path.join(dataDir, 'jobs', 'demo', 'package'))).toEqual(expect.arrayContaining(['master.m3u8', 'manifest.mpd', 'livectl-package.json']))
    expect(demo.watchUrl).toBe('http://127.0.0.1:8080/watch/demo')
  })

  it('demo registers the video in the catalog --db names, not in the default one', async () => {
    const dataDir = path.join(work.dir, 'demo-db')
    const db = `sqlite:${path.join(work.dir, 'elsewhere.db')}`
    const result = await runCli(['demo', '--duration', '1', '--size', '320x180', '--preset', 'ultrafast', '--db', db, '--data-dir', dataDir])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(JSON.parse((await runCli(['videos', 'show', 'demo', '--db', db, '--json'])).stdout)).toMatchObject({id: 'demo', status: 'ready'})
    expect((await runCli(['videos', 'show', 'demo', '--data-dir', dataDir])).exitCode).toBe(2)
  })

  it('demo --serve ends with the whole system running: it prints the watch URL and serves it until SIGINT', async () => {
    const dataDir = path.join(work.dir, 'served')
    const run = startCli(['demo', '--serve', '--port', '0', '--duration', '2', '--size', '640x360', '--preset', 'ultrafast'], {env: {LIVECTL_DATA_DIR: dataDir}})
    let stdout = ''
    run.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    try {
      await waitFor(() => /Watch it: +http:\/\/\S+\/watch\/demo\n/.test(stdout) || run.child.exitCode !== null, {what: 'the watch URL', timeoutMs: 90_000})
      const watchUrl = /Watch it: +(http:\/\/\S+\/watch\/demo)\n/.exec(stdout)?.[1]
      expect(watchUrl, stdout).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/watch\/demo$/)
      const page = await fetch(watchUrl as string)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('data-video-id="demo"')
      const video = await (await fetch(new URL('/videos/demo', watchUrl))).json() as {status: string; hlsUrl: string}
      expect(video.status).toBe('ready')
      expect((await fetch(video.hlsUrl)).status).toBe(200)
    } finally {
      run.child.kill('SIGINT')
    }

    expect((await run.done).exitCode).toBe(0)
  })
})
