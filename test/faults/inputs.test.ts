/**
 * Inputs that lie: a recording cut off short of what it declares, a segment duration that is not
 * a whole number of frames, a renditions.json that does not describe its files, a damaged
 * rendition, a comment that is not UTF-8; and outputs made with normal permissions.
 */
import {mkdir, readFile, stat, truncate, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer} from '../../src/lib/api/serve.js'
import {openCatalog} from '../../src/lib/catalog/connection.js'
import {upsertVideo} from '../../src/lib/catalog/videos.js'
import {assertWholeFrames} from '../../src/lib/media/transcode.js'
import {truncationWarning} from '../../src/lib/media/truncation.js'
import {runCli} from '../support/cli.js'
import {makeClip, makeTempDir} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}
let clip25: string
let renditionsDir: string

beforeAll(async () => {
  work = await makeTempDir('livectl-faults-inputs-')
  clip25 = await makeClip(work.dir, 'clip25.mp4', {width: 320, height: 180, durationSeconds: 4, frameRate: 25, audio: 'stereo'})
  renditionsDir = path.join(work.dir, 'renditions')
  const result = await runCli(['transcode', clip25, '-o', renditionsDir, '--ladder', '144p', '--preset', 'ultrafast', '--data-dir', path.join(work.dir, 'data')])
  expect(result.exitCode, result.stderr).toBe(0)
})

afterAll(async () => {
  await work?.cleanup()
})

describe('segment durations that are not a whole number of frames', () => {
  it('are refused up front with the nearest durations that work', () => {
    expect(() => assertWholeFrames(0.5, 25)).toThrow(/12\.5 frames/)
    expect(() => assertWholeFrames(0.5, 25)).toThrow(expect.objectContaining({hint: 'Use --segment-duration 0.48 s (12 frames) or 0.52 s (13 frames).'}))
    expect(() => assertWholeFrames(2, 30000 / 1001)).toThrow(expect.objectContaining({hint: expect.stringMatching(/2\.002 s \(60 frames\)/)}))
    expect(() => assertWholeFrames(2.002, 30000 / 1001)).not.toThrow()
    expect(() => assertWholeFrames(2, 30)).not.toThrow()
  })

  it('make transcode fail before writing anything', async () => {
    const output = path.join(work.dir, 'half-second')
    const result = await runCli(['transcode', clip25, '-o', output, '--segment-duration', '0.5', '--data-dir', path.join(work.dir, 'data')])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/0\.5 s is 12\.5 frames at the source's 25 fps/)
    expect(result.stderr).toMatch(/0\.48 s \(12 frames\) or 0\.52 s \(13 frames\)/)
    await expect(stat(output)).rejects.toThrow()
  })
})

describe('a recording cut off with its index at the front', () => {
  it('is transcoded as far as it goes, with a loud warning and the real duration recorded', async () => {
    const full = await makeClip(work.dir, 'full.mp4', {width: 320, height: 180, durationSeconds: 8, audio: 'stereo', faststart: true})
    const cut = path.join(work.dir, 'cut.mp4')
    await writeFile(cut, await readFile(full))
    await truncate(cut, Math.floor((await stat(full)).size / 2))
    const output = path.join(work.dir, 'cut-renditions')
    const result = await runCli(['transcode', cut, '-o', output, '--ladder', '144p', '--preset', 'ultrafast', '--json', '--data-dir', path.join(work.dir, 'data')])
    expect(result.exitCode, result.stderr).toBe(0)
    expect(result.stderr).toMatch(/Warning: cut\.mp4 declares 8\.0 s but only [1-6]\.\d s could be decoded/)
    const manifest = JSON.parse(result.stdout)
    expect(manifest.warnings).toHaveLength(1)
    expect(manifest.renditions[0].durationSeconds).toBeLessThan(7)
    expect(JSON.parse(await readFile(path.join(output, 'renditions.json'), 'utf8')).warnings).toEqual(manifest.warnings)
  })

  it('is told apart from a source that decodes to what it declares', () => {
    expect(truncationWarning('a.mp4', 8, 7.96)).toBeUndefined()
    expect(truncationWarning('a.mp4', 600, 590)).toBeUndefined()
    expect(truncationWarning('a.mp4', 8, 4.04)).toMatch(/declares 8\.0 s but only 4\.0 s/)
    expect(truncationWarning('a.mp4', undefined, 4)).toBeUndefined()
  })
})

describe('a renditions.json that does not describe its files', () => {
  async function copyWithManifest(name: string, edit: (manifest: any) => void): Promise<string> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const dir = path.join(work.dir, name)
    await mkdir(dir)
    const manifest = JSON.parse(await readFile(path.join(renditionsDir, 'renditions.json'), 'utf8'))
    for (const rendition of manifest.renditions) await writeFile(path.join(dir, rendition.file), await readFile(path.join(renditionsDir, rendition.file)))
    edit(manifest)
    await writeFile(path.join(dir, 'renditions.json'), JSON.stringify(manifest))
    return dir
  }

  it.each([
    ['a wrong size', (manifest: {renditions: Array<{sizeBytes: number}>}) => (manifest.renditions[0]!.sizeBytes += 1), /bytes written down/],
    ['a wrong picture size', (manifest: {renditions: Array<{width: number; height: number}>}) => Object.assign(manifest.renditions[0]!, {width: 1920, height: 1080}), /1920x1080 written down, 256x144 in the file/],
    ['a wrong codec', (manifest: {renditions: Array<{videoCodec: string}>}) => (manifest.renditions[0]!.videoCodec = 'avc1.640028'), /codec avc1\.640028 written down/],
    ['no audio where there is some', (manifest: {hasAudio: boolean}) => (manifest.hasAudio = false), /no audio written down, audio in the file/],
  ])('is refused when it claims %s, before anything is packaged', async (name, edit, message) => {
    const dir = await copyWithManifest(`lying-${name.replace(/\W+/g, '-')}`, edit as (manifest: unknown) => void)
    const output = path.join(work.dir, `pkg-${name.replace(/\W+/g, '-')}`)
    const result = await runCli(['segment', dir, '-o', output, '--data-dir', path.join(work.dir, 'data')])
    expect(result.exitCode, result.stderr).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr).toMatch(/never edit renditions\.json by hand/)
    await expect(stat(output)).rejects.toThrow()
  })

  it('is refused as a user error when a rendition file is damaged', async () => {
    const dir = await copyWithManifest('damaged', () => undefined)
    const manifest = JSON.parse(await readFile(path.join(dir, 'renditions.json'), 'utf8'))
    const file = path.join(dir, manifest.renditions[0].file)
    await writeFile(file, Buffer.alloc((await stat(file)).size, 0x5a))
    const result = await runCli(['segment', dir, '-o', path.join(work.dir, 'pkg-damaged'), '--data-dir', path.join(work.dir, 'data')])
    expect(result.exitCode, result.stderr).toBe(2)
    expect(result.stderr).toMatch(/is not a readable video/)
    expect(result.stderr).not.toMatch(/bug in livectl/)
  })
})

describe('outputs', () => {
  it('are created readable by others, as a plain mkdir would make them', async () => {
    const plain = path.join(work.dir, 'plain-mkdir')
    await mkdir(plain)
    const expected = (await stat(plain)).mode & 0o777
    expect((await stat(renditionsDir)).mode & 0o777).toBe(expected)
  })
})

describe('a comment that is not UTF-8', () => {
  it('is refused with 400, not stored with replacement characters', async () => {
    const dataDir = path.join(work.dir, 'utf8')
    const catalog = await openCatalog({dataDir})
    await upsertVideo(catalog, {id: 'clip', title: 'Clip', status: 'ready', packageLocation: '/nowhere'})
    await catalog.close()
    const server = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
    try {
      const body = Buffer.concat([Buffer.from('{"video_id":"clip","author":"a","data":"bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
      const response = await fetch(`${server.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body})
      expect(response.status).toBe(400)
      expect((await response.json()).error.message).toMatch(/not valid UTF-8/)
      const listed = await (await fetch(`${server.url}/video/comments?video_id=clip`)).json() as {comments: unknown[]}
      expect(listed.comments).toEqual([])
      // Valid UTF-8 (emoji included) still goes through.
      const good = await fetch(`${server.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'clip', author: 'a', data: 'fine 🎬'})})
      expect(good.status).toBe(201)
    } finally {
      await server.close()
    }
  })
})
