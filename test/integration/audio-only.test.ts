/**
 * An audio-only recording end to end with real ffmpeg: a 6 s mono tone in an mp3 with cover art
 * (a podcast) is transcoded to one stereo 48 kHz AAC rendition, packaged as audio-only HLS and
 * DASH, published, and served: GET /video/time answers every device with its audio frames.
 */
import {execFile} from 'node:child_process'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'

import mpd from 'mpd-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer, type RunningServer} from '../../src/lib/api/serve.js'
import type {RenditionsManifest} from '../../src/lib/media/renditions.js'
import type {PackageManifest} from '../../src/lib/package/manifest.js'
import {segmentPackage} from '../../src/lib/package/segment.js'
import {parseM3u8} from '../../src/lib/package/verify.js'
import {publishPackage} from '../../src/lib/publish/publish.js'
import {runCli} from '../support/cli.js'
import {decodeCleanly, makeAudioClip, makeTempDir, probeStreams} from '../support/media.js'

const SCHEMA_DIR = path.resolve('test/fixtures/dash-schema')

let work: {dir: string; cleanup: () => Promise<void>}
let podcast: string
let renditionsDir: string
let transcoded: RenditionsManifest
let packageDir: string
let pkg: PackageManifest

beforeAll(async () => {
  work = await makeTempDir('livectl-audio-only-')
  podcast = await makeAudioClip(work.dir, 'podcast.mp3', {durationSeconds: 6, coverArt: true})
  renditionsDir = path.join(work.dir, 'renditions')
  // Video flags are accepted and do not apply.
  const result = await runCli(['transcode', podcast, '-o', renditionsDir, '--ladder', '720p,144p', '--rate-control', 'per-title', '--json'])
  expect(result.exitCode, result.stderr).toBe(0)
  transcoded = JSON.parse(result.stdout) as RenditionsManifest
  packageDir = path.join(work.dir, 'package')
  pkg = (await segmentPackage({inputDir: renditionsDir, outputDir: packageDir, formats: ['hls', 'dash']})) as PackageManifest
})

afterAll(async () => {
  await work?.cleanup()
})

describe('transcode of an audio-only recording', () => {
  it('makes one stereo 48 kHz AAC-LC rendition and a renditions.json that says there is no video', async () => {
    expect(transcoded).toMatchObject({hasVideo: false, hasAudio: true, renditions: [], segmentDurationSeconds: 2})
    expect(transcoded.audioRendition).toMatchObject({name: 'audio', file: 'audio.m4a', codecs: 'mp4a.40.2', bitrateKbps: 128, channels: 2, sampleRate: 48_000})
    expect(transcoded.audioRendition?.durationSeconds).toBeCloseTo(6, 1)
    expect(transcoded.source.video).toBeUndefined()
    expect(transcoded.source.audio).toMatchObject({codec: 'mp3', channels: 1})
    expect(transcoded).not.toHaveProperty('gopFrames')
    expect(transcoded).not.toHaveProperty('preset')
    expect(JSON.parse(await readFile(path.join(renditionsDir, 'renditions.json'), 'utf8'))).toEqual(transcoded)

    // The cover art is not carried over: the file holds the audio alone.
    const {streams} = await probeStreams(path.join(renditionsDir, 'audio.m4a'))
    expect(streams.map(({codec_type, codec_name, profile, channels, sample_rate}) => ({codec_type, codec_name, profile, channels, sample_rate}))).toEqual([
      {codec_type: 'audio', codec_name: 'aac', profile: 'LC', channels: 2, sample_rate: '48000'},
    ])
  })

  it('--dry-run prints the audio command and writes nothing', async () => {
    const out = path.join(work.dir, 'dry')
    const result = await runCli(['transcode', podcast, '-o', out, '--dry-run', '--json'])
    expect(result.exitCode, result.stderr).toBe(0)
    const plan = JSON.parse(result.stdout) as {hasVideo?: boolean; plan: unknown[]; command: string[]}
    expect(plan).toMatchObject({dryRun: true, hasVideo: false, plan: []})
    expect(plan.command).toEqual(expect.arrayContaining(['0:a:0', 'aac', path.join(out, 'audio.m4a')]))
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
  })
})

describe('segment of an audio-only recording', () => {
  it('writes an HLS master whose one variant is the audio, CODECS mp4a.40.2 and no RESOLUTION', async () => {
    const masterText = await readFile(path.join(packageDir, 'master.m3u8'), 'utf8')
    expect(masterText).not.toContain('RESOLUTION')
    expect(masterText).not.toContain('TYPE=AUDIO')
    const master = parseM3u8(masterText)
    expect(master.playlists?.map((variant) => [variant.uri, variant.attributes.CODECS])).toEqual([[pkg.audio?.playlist, 'mp4a.40.2']])
    const media = parseM3u8(await readFile(path.join(packageDir, pkg.audio?.playlist as string), 'utf8'))
    expect(media.endList).toBe(true)
    expect(media.segments.reduce((sum, segment) => sum + segment.duration, 0)).toBeCloseTo(6, 1)
  })

  it('writes an MPD with a single audio AdaptationSet that validates against the DASH schema', async () => {
    const file = path.join(packageDir, 'manifest.mpd')
    const text = await readFile(file, 'utf8')
    expect(text.match(/<AdaptationSet\b[^>]*>/g)).toEqual([expect.stringContaining('contentType="audio"')])
    const parsed = mpd.parse(text, {manifestUri: `file://${file}`})
    expect(parsed.playlists.filter((playlist) => playlist.attributes.RESOLUTION)).toEqual([])
    const audio = Object.values(parsed.mediaGroups.AUDIO ?? {}).flatMap((group) => Object.values(group).flatMap((entry) => entry.playlists))
    expect(audio.map((playlist) => playlist.attributes.CODECS)).toEqual(['mp4a.40.2'])
    const {stderr} = await promisify(execFile)('xmllint', ['--nonet', '--noout', '--schema', path.join(SCHEMA_DIR, 'DASH-MPD.xsd'), file], {env: {...process.env, XML_CATALOG_FILES: path.join(SCHEMA_DIR, 'catalog.xml')}})
    expect(stderr).toContain('validates')
  })

  it('records one audio track of CMAF segments, 6 s in all, that decode after their init segment', async () => {
    expect(pkg.renditions).toEqual([])
    expect(pkg.audio).toMatchObject({type: 'audio', codecs: 'mp4a.40.2', channels: 2, sampleRate: 48_000})
    const total = (pkg.audio?.segments ?? []).reduce((sum, segment) => sum + segment.durationSeconds, 0)
    expect(Math.abs(total - 6)).toBeLessThan(0.1)
    expect(pkg.durationSeconds).toBeCloseTo(6, 1)
    const joined = path.join(work.dir, 'joined.mp4')
    await writeFile(joined, Buffer.concat([await readFile(path.join(packageDir, pkg.audio?.init.file as string)), await readFile(path.join(packageDir, pkg.audio?.segments[1]?.file as string))]))
    await decodeCleanly(joined)
  })
})

describe('publish and serve of an audio-only recording', () => {
  let server: RunningServer

  beforeAll(async () => {
    const dataDir = path.join(work.dir, 'data')
    await publishPackage({packageDir, to: path.join(dataDir, 'media'), videoId: 'podcast', title: 'A podcast', dataDir})
    server = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
  })

  afterAll(async () => {
    await server?.close()
  })

  it('catalogs it with its HLS and DASH URLs and no video renditions', async () => {
    const video = await (await fetch(`${server.url}/videos/podcast`)).json() as {status: string; durationSeconds: number; hlsUrl: string; dashUrl: string; renditions: unknown[]}
    expect(video).toMatchObject({status: 'ready', renditions: []})
    expect(video.durationSeconds).toBeCloseTo(6, 1)
    expect((await fetch(video.hlsUrl)).status).toBe(200)
    expect((await fetch(video.dashUrl)).status).toBe(200)
  })

  it('GET /video/time gives every device the same audio frames, whose URLs serve the segments', async () => {
    const answers = await Promise.all(['mobile', 'tv'].map(async (device) =>
      (await fetch(`${server.url}/video/time?id=podcast&device=${device}&offset=0`)).json() as Promise<Array<{type: string; rendition: string; codecs: string; start: number; url: string; initUrl: string; width?: number}>>))
    expect(answers[1]).toEqual(answers[0])
    const frames = answers[0] ?? []
    expect(frames.length).toBe(pkg.audio?.segments.length)
    expect(new Set(frames.map((frame) => `${frame.type}:${frame.rendition}:${frame.codecs}`))).toEqual(new Set(['audio:audio:mp4a.40.2']))
    expect(frames.some((frame) => frame.width !== undefined)).toBe(false)
    expect(frames.map((frame) => frame.start)).toEqual(pkg.audio?.segments.map((segment) => segment.startSeconds))
    for (const url of [frames[0]?.initUrl, frames[1]?.url]) expect((await fetch(url as string)).status).toBe(200)
  })
})
