/** Manifests read back from disk (livectl-package.json, renditions.json): checked where they enter, refused naming the file. */
import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {RENDITIONS_FILE, readRenditionsManifest} from '../../src/lib/media/renditions.js'
import {PACKAGE_MANIFEST_FILE, readPackageManifest} from '../../src/lib/package/manifest.js'

async function dirWith(name: string, content: unknown): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'livectl-readers-'))
  await writeFile(path.join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  return dir
}

const track = {
  id: 'v0', name: '360p', type: 'video', codecs: 'avc1.64001e', bandwidth: 900_000, averageBandwidth: 700_000, width: 640, height: 360,
  playlist: '360p.m3u8', init: {file: 'init-v0.m4s', sizeBytes: 800},
  segments: [{index: 0, file: 'v0-0.m4s', startSeconds: 0, durationSeconds: 2, sizeBytes: 120_000}],
}
const packageManifest = {
  version: 1, createdAt: '2026-01-01T00:00:00.000Z', durationSeconds: 2, segmentDurationSeconds: 2, formats: ['hls', 'dash'],
  hlsMaster: 'master.m3u8', dashManifest: 'manifest.mpd', renditions: [track], totalFiles: 5, totalBytes: 121_000,
}

describe('readPackageManifest', () => {
  it('reads a package manifest as written', async () => {
    expect(await readPackageManifest(await dirWith(PACKAGE_MANIFEST_FILE, packageManifest))).toEqual(packageManifest)
  })

  it('refuses a foreign or damaged file, naming it and what is wrong', async () => {
    const foreign = await dirWith(PACKAGE_MANIFEST_FILE, {name: 'some-npm-package', version: '1.0.0'})
    await expect(readPackageManifest(foreign)).rejects.toThrow(UserError)
    await expect(readPackageManifest(foreign)).rejects.toThrow(`${path.join(foreign, PACKAGE_MANIFEST_FILE)} is not a livectl package manifest: the document must have required property 'createdAt'`)

    const badSegment = await dirWith(PACKAGE_MANIFEST_FILE, {...packageManifest, renditions: [{...track, segments: [{index: 0, file: 'v0-0.m4s', sizeBytes: 10}]}]})
    await expect(readPackageManifest(badSegment)).rejects.toThrow(/renditions\.0\.segments\.0 must have required property 'startSeconds'/)
    await expect(readPackageManifest(await dirWith(PACKAGE_MANIFEST_FILE, '{"version": 1,'))).rejects.toThrow(/is not valid JSON/)
  })

  it('says a folder without one is not a package', async () => {
    await expect(readPackageManifest(os.tmpdir())).rejects.toThrow(/is not a livectl package: livectl-package\.json is missing/)
  })
})

const rendition = {
  name: '360p', width: 640, height: 360, videoBitrateKbps: 800, maxRateKbps: 856, bufferSizeKbps: 1200, audioBitrateKbps: 96, profile: 'high',
  videoCodec: 'avc1.64001e', audioCodec: 'mp4a.40.2', codecs: 'avc1.64001e,mp4a.40.2', frameRate: 25, durationSeconds: 4, file: '360p.mp4', sizeBytes: 400_000,
}
const renditionsManifest = {
  version: 1, createdAt: '2026-01-01T00:00:00.000Z', source: {path: '/in.mp4', durationSeconds: 4}, segmentDurationSeconds: 2, gopFrames: 50,
  preset: 'veryfast', hasAudio: true, rateControl: 'capped-crf', renditions: [rendition],
}

describe('readRenditionsManifest', () => {
  it('reads a transcode output as written, and an earlier version without the newer fields', async () => {
    expect(await readRenditionsManifest(await dirWith(RENDITIONS_FILE, renditionsManifest))).toEqual(renditionsManifest)
    const {rateControl: _rateControl, gopFrames: _gopFrames, ...earlier} = renditionsManifest
    expect(await readRenditionsManifest(await dirWith(RENDITIONS_FILE, earlier))).toEqual(earlier)
  })

  it('refuses a file whose renditions lack what segment needs, naming the file', async () => {
    const {bufferSizeKbps: _bufferSizeKbps, ...partial} = rendition
    const dir = await dirWith(RENDITIONS_FILE, {...renditionsManifest, renditions: [partial]})
    await expect(readRenditionsManifest(dir)).rejects.toThrow(`${path.join(dir, RENDITIONS_FILE)} is not a livectl renditions manifest: renditions.0 must have required property 'bufferSizeKbps'`)
  })

  it('refuses file names that leave the directory', async () => {
    for (const file of ['../360p.mp4', '.hidden.mp4', 'sub/360p.mp4']) {
      const dir = await dirWith(RENDITIONS_FILE, {...renditionsManifest, renditions: [{...rendition, file}]})
      await expect(readRenditionsManifest(dir)).rejects.toThrow(/renditions\.0\.file must match pattern/)
    }
  })

  it('refuses a manifest with no rendition to segment', async () => {
    await expect(readRenditionsManifest(await dirWith(RENDITIONS_FILE, {...renditionsManifest, renditions: []}))).rejects.toThrow(/version 1 with at least one rendition/)
    const audioOnly = {...renditionsManifest, hasVideo: false, renditions: []}
    await expect(readRenditionsManifest(await dirWith(RENDITIONS_FILE, audioOnly))).rejects.toThrow(/version 1 with at least one rendition/)
  })
})
