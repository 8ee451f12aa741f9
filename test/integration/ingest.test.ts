/**
 * Live, end to end over real RTMP on loopback: ffmpeg pushes a generated clip in real time to
 * `startIngestServer`; live playlists and segments appear in storage while it runs, in the right
 * order; a wrong key gets nothing; the end of the push leaves ENDLIST and a VOD in the catalog;
 * two streams at once stay apart; its metrics port serves what its registry counts; a start that
 * fails at any step leaves no port taken behind.
 */
import {access, readdir, readFile} from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

import {CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer} from '../../src/lib/api/serve.js'
import {openCatalog} from '../../src/lib/catalog/connection.js'
import {findVideoWithPackage, listVideos} from '../../src/lib/catalog/videos.js'
import {createStreamKey, revokeStreamKey} from '../../src/lib/ingest/keys.js'
import {type RunningIngest, startIngestServer} from '../../src/lib/ingest/server.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import {parseM3u8} from '../../src/lib/package/verify.js'
import {makeTempDir} from '../support/media.js'
import {freePort, runMotoSuites, startMoto, useFakeAwsCredentials} from '../support/moto.js'
import {startPush} from '../support/push.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}
let ingest: RunningIngest
let dataDir: string
let media: string
let port: number
const keys: Record<string, string> = {}
const ended = new Map<string, string>()

beforeAll(async () => {
  work = await makeTempDir('livectl-ingest-')
  dataDir = path.join(work.dir, 'data')
  media = path.join(work.dir, 'media')
  const catalog = await openCatalog({dataDir})
  for (const name of ['studio', 'second', 'revoked']) keys[name] = (await createStreamKey(catalog, name)).key
  await revokeStreamKey(catalog, 'revoked')
  await catalog.close()
  port = await freePort()
  ingest = await startIngestServer({
    dataDir, host: '127.0.0.1', rtmpPort: port, to: media, rungs: standardLadder(['240p', '144p']),
    segmentDurationSeconds: 1, dvrWindowSeconds: 4, preset: 'ultrafast', reconnectGraceSeconds: 3, metricsPort: 0, log: (line) => process.env.LIVECTL_TEST_LOG && console.log(new Date().toISOString(), line),
  })
  ingest.onSessionEnd((result) => ended.set(result.videoId, result.status))
})

afterAll(async () => {
  await ingest?.close()
  await work?.cleanup()
})

const exists = (file: string) => access(file).then(() => true, () => false)

async function referencedFilesExist(dir: string, playlist: string): Promise<boolean> {
  const parsed = parseM3u8(await readFile(path.join(dir, playlist), 'utf8'))
  const files = [...new Set([...parsed.segments.map((segment) => segment.uri), ...parsed.segments.map((segment) => segment.map?.uri ?? '')].filter(Boolean))]
  return (await Promise.all(files.map((file) => exists(path.join(dir, file))))).every(Boolean)
}

describe('ingest', () => {
  it('publishes a live stream while it runs, segments before playlists, and keeps it as a VOD when it ends', async () => {
    const push = startPush(`rtmp://127.0.0.1:${port}/live/${keys.studio}`, {width: 426, height: 240, durationSeconds: 8})
    await waitFor(() => ingest.streams().length === 1, {what: 'the stream to be accepted'})
    const {videoId} = ingest.streams()[0] as {videoId: string}
    const dir = path.join(media, videoId)

    // The MPD is written after the HLS master: wait for both.
    await waitFor(async () => (await exists(path.join(dir, 'manifest.mpd'))) && (await readFile(path.join(dir, 'media_0.m3u8'), 'utf8')).includes('.m4s'), {what: 'live playlists and MPD'})
    expect(push.exited).toBe(false)
    const live = await readFile(path.join(dir, 'media_0.m3u8'), 'utf8')
    expect(live).not.toContain('#EXT-X-ENDLIST')
    expect(await readFile(path.join(dir, 'master.m3u8'), 'utf8')).toMatch(/RESOLUTION=426x240[\s\S]*RESOLUTION=256x144/)
    expect(await readFile(path.join(dir, 'manifest.mpd'), 'utf8')).toMatch(/type="dynamic"[\s\S]*|timeShiftBufferDepth="PT4S"/)

    // While live, /video/time answers from what is published so far, counting back from the live edge.
    const liveApi = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
    try {
      await waitFor(async () => (await (await fetch(`${liveApi.url}/videos/${videoId}`)).json() as {status: string}).status === 'live', {what: 'the live video in the catalog'})
      const liveFrames = await (await fetch(`${liveApi.url}/video/time?id=${videoId}&device=mobile&offset=-2`)).json() as Array<{type: string; url: string}>
      expect(liveFrames.some((frame) => frame.type === 'video')).toBe(true)
      const liveSegment = await fetch(liveFrames[0]?.url as string)
      expect(liveSegment.status).toBe(200)
      expect((await liveSegment.arrayBuffer()).byteLength).toBeGreaterThan(0)
    } finally {
      await liveApi.close()
    }

    const metrics = await ingest.metrics.registry.metrics()
    expect(metrics).toMatch(/livectl_live_streams 1/)
    expect(metrics).toMatch(/livectl_live_segment_publish_lag_seconds_count [1-9]/)
    // Prometheus reads the same numbers from the metrics port.
    expect(ingest.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/metrics$/)
    const scraped = await fetch(ingest.metricsUrl as string)
    expect(scraped.status).toBe(200)
    expect(scraped.headers.get('content-type')).toBe(ingest.metrics.registry.contentType)
    const scrapedText = await scraped.text()
    expect(scrapedText).toMatch(/^livectl_live_streams 1$/m)
    expect(scrapedText).toMatch(/^livectl_live_segment_publish_lag_seconds_count [1-9]/m)
    expect((await fetch(new URL('/', ingest.metricsUrl))).status).toBe(404)

    // While it runs: every playlist in storage only ever points at files that are already there.
    while (!push.exited) {
      for (const playlist of ['media_0.m3u8', 'media_1.m3u8', 'media_2.m3u8']) {
        if (await exists(path.join(dir, playlist))) expect(await referencedFilesExist(dir, playlist), playlist).toBe(true)
      }

      await new Promise((resolve) => setTimeout(resolve, 100))
    }

    const catalog = await openCatalog({dataDir})
    try {
      await waitFor(() => ended.has(videoId), {what: 'the stream to end', timeoutMs: 60_000})
      expect(ended.get(videoId)).toBe('ended')
      for (const playlist of ['media_0.m3u8', 'media_1.m3u8', 'media_2.m3u8']) {
        const text = await readFile(path.join(dir, playlist), 'utf8')
        expect(text).toContain('#EXT-X-ENDLIST')
        expect(parseM3u8(text).segments[0]?.uri).toMatch(/-00001\.m4s$/)
        expect(await referencedFilesExist(dir, playlist)).toBe(true)
      }

      expect(await readFile(path.join(dir, 'manifest.mpd'), 'utf8')).toContain('type="static"')
      const video = await findVideoWithPackage(catalog, videoId)
      expect(video).toMatchObject({status: 'ended', packageLocation: `file://${media}/${videoId}`})
      expect(video?.package?.renditions.map((track) => `${track.width}x${track.height}`)).toEqual(['426x240', '256x144'])
      expect(video?.durationSeconds).toBeGreaterThan(5)
      expect(await exists(path.join(dataDir, 'live', videoId, 'recording.ts'))).toBe(true)

      const api = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
      try {
        const frames = await (await fetch(`${api.url}/video/time?id=${videoId}&device=mobile&offset=-2`)).json() as Array<{type: string; url: string}>
        expect(frames.filter((frame) => frame.type === 'video').length).toBeGreaterThan(0)
        const segment = await fetch(frames[0]?.url as string)
        expect(segment.status).toBe(200)
        expect((await segment.arrayBuffer()).byteLength).toBeGreaterThan(0)
      } finally {
        await api.close()
      }
    } finally {
      await catalog.close()
    }
  })

  it.each([
    ['an unknown key', 'not-a-key'],
    ['a revoked key', 'revoked'],
  ])('refuses a push with %s and writes nothing for it', async (_name, keyName) => {
    const before = await readdir(media).catch(() => [])
    const push = startPush(`rtmp://127.0.0.1:${port}/live/${keys[keyName] ?? keyName}`, {width: 320, height: 180, durationSeconds: 3})
    const result = await push.done
    expect(result.code).not.toBe(0)
    expect(ingest.streams()).toEqual([])
    expect(await readdir(media).catch(() => [])).toEqual(before)
    const catalog = await openCatalog({dataDir})
    try {
      const {videos} = await listVideos(catalog)
      expect(videos.some((video) => video.id.startsWith('revoked') || video.id.startsWith('not-a-key'))).toBe(false)
    } finally {
      await catalog.close()
    }
  })

  it('continues the same video when the broadcaster reconnects within the grace period', async () => {
    const first = startPush(`rtmp://127.0.0.1:${port}/live/${keys.second}`, {width: 320, height: 180, durationSeconds: 3})
    await waitFor(() => ingest.streams().length === 1, {what: 'the stream'})
    const {videoId} = ingest.streams()[0] as {videoId: string}
    await first.done
    const again = startPush(`rtmp://127.0.0.1:${port}/live/${keys.second}`, {width: 320, height: 180, durationSeconds: 3})
    await again.done
    await waitFor(() => ended.has(videoId), {what: 'the stream to end', timeoutMs: 60_000})
    expect(ingest.streams()).toEqual([])
    const catalog = await openCatalog({dataDir})
    try {
      const video = await findVideoWithPackage(catalog, videoId)
      expect(video?.status).toBe('ended')
      expect(video?.durationSeconds).toBeGreaterThan(4.5)
      const {videos} = await listVideos(catalog, {limit: 500})
      expect(videos.filter((candidate) => candidate.id.startsWith('second-'))).toHaveLength(1)
    } finally {
      await catalog.close()
    }
  })

  it('ends a stream whose broadcaster drops (kill -9) with ENDLIST and a VOD', async () => {
    const push = startPush(`rtmp://127.0.0.1:${port}/live/${keys.studio}`, {width: 320, height: 180, durationSeconds: 60})
    await waitFor(() => ingest.streams().length === 1, {what: 'the stream'})
    const {videoId} = ingest.streams()[0] as {videoId: string}
    const playlist = path.join(media, videoId, 'media_0.m3u8')
    await waitFor(async () => (await exists(playlist)) && (await readFile(playlist, 'utf8')).includes('-00002.m4s'), {what: 'two published segments'})
    push.kill()
    await waitFor(() => ended.has(videoId), {what: 'the stream to end', timeoutMs: 60_000})
    expect(await readFile(playlist, 'utf8')).toContain('#EXT-X-ENDLIST')
    const catalog = await openCatalog({dataDir})
    try {
      expect((await findVideoWithPackage(catalog, videoId))?.status).toBe('ended')
    } finally {
      await catalog.close()
    }
  })

  it('keeps two streams at once apart', async () => {
    const first = startPush(`rtmp://127.0.0.1:${port}/live/${keys.studio}`, {width: 426, height: 240, durationSeconds: 8, frequency: 440})
    const second = startPush(`rtmp://127.0.0.1:${port}/live/${keys.second}`, {width: 320, height: 180, durationSeconds: 8, frequency: 880})
    await waitFor(() => ingest.streams().length === 2, {what: 'both streams'})
    const ids = Object.fromEntries(ingest.streams().map((stream) => [stream.keyName, stream.videoId]))
    await Promise.all([first.done, second.done])
    await waitFor(() => ended.has(ids.studio as string) && ended.has(ids.second as string), {what: 'both to end', timeoutMs: 60_000})
    const catalog = await openCatalog({dataDir})
    try {
      const studio = await findVideoWithPackage(catalog, ids.studio as string)
      const other = await findVideoWithPackage(catalog, ids.second as string)
      expect(studio?.package?.renditions.map((track) => track.height)).toEqual([240, 144])
      expect(studio?.package?.audio).toBeDefined()
      expect(other?.package?.renditions.map((track) => `${track.width}x${track.height}`)).toEqual(['256x144'])
      const files = (await readdir(path.join(media, ids.second as string))).sort()
      expect(files.every((file) => !file.startsWith('seg-2'))).toBe(true)
    } finally {
      await catalog.close()
    }
  })
})

describe.runIf(runMotoSuites)('ingest to S3', () => {
  it('publishes the live stream to S3 and ends it there as a VOD', async () => {
    useFakeAwsCredentials()
    const moto = await startMoto()
    const s3 = new S3Client({endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1'})
    await s3.send(new CreateBucketCommand({Bucket: 'live'}))
    const s3Port = await freePort()
    const done = new Map<string, string>()
    const s3Ingest = await startIngestServer({
      dataDir, host: '127.0.0.1', rtmpPort: s3Port, to: 's3://live/streams', s3Endpoint: moto.endpoint, rungs: standardLadder(['144p']),
      segmentDurationSeconds: 1, dvrWindowSeconds: 4, preset: 'ultrafast', reconnectGraceSeconds: 1, log: () => undefined,
    })
    s3Ingest.onSessionEnd((result) => done.set(result.videoId, result.status))
    try {
      const push = startPush(`rtmp://127.0.0.1:${s3Port}/live/${keys.studio}`, {width: 320, height: 180, durationSeconds: 4})
      await waitFor(() => s3Ingest.streams().length === 1, {what: 'the stream'})
      const {videoId} = s3Ingest.streams()[0] as {videoId: string}
      await push.done
      await waitFor(() => done.has(videoId), {what: 'the end of the stream', timeoutMs: 60_000})
      const listed = await s3.send(new ListObjectsV2Command({Bucket: 'live', Prefix: `streams/${videoId}/`}))
      const names = (listed.Contents ?? []).map((object) => object.Key?.split('/').pop())
      expect(names).toEqual(expect.arrayContaining(['master.m3u8', 'manifest.mpd', 'media_0.m3u8', 'livectl-package.json', 'init-0.m4s', 'seg-0-00001.m4s']))
      const playlist = await s3.send(new GetObjectCommand({Bucket: 'live', Key: `streams/${videoId}/media_0.m3u8`}))
      expect(await playlist.Body?.transformToString()).toContain('#EXT-X-ENDLIST')
    } finally {
      await s3Ingest.close()
      await moto.stop()
    }
  })
})

describe('ingest that cannot start', () => {
  /** Listens on a free port of 127.0.0.1 until released. */
  async function takePort(): Promise<{port: number; release: () => Promise<void>}> {
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return {port: (server.address() as net.AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve()))}
  }

  const canListenOn = (port: number) => new Promise<boolean>((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

  const settings = () => ({
    // Its own node id: its start must not close the streams of the ingest above (same catalog).
    dataDir, host: '127.0.0.1', nodeId: 'cannot-start', to: media, rungs: standardLadder(['144p']), segmentDurationSeconds: 1, dvrWindowSeconds: 4, preset: 'ultrafast', log: () => undefined,
  })

  it('with its metrics port taken, names it and leaves the low-latency origin\'s port free again', async () => {
    const taken = await takePort()
    const originPort = await freePort()
    const rtmpPort = await freePort()
    try {
      await expect(startIngestServer({...settings(), rtmpPort, metricsPort: taken.port, lowLatency: {partSeconds: 0.5, originPort}}))
        .rejects.toThrow(`Cannot start the metrics server: 127.0.0.1:${taken.port} is already in use`)
      expect(await canListenOn(originPort)).toBe(true)
      expect(await canListenOn(rtmpPort)).toBe(true)
    } finally {
      await taken.release()
    }
  })

  it('with its RTMP port taken, names it and leaves the origin\'s and the metrics\' ports free again', async () => {
    const taken = await takePort()
    const originPort = await freePort()
    const metricsPort = await freePort()
    try {
      await expect(startIngestServer({...settings(), rtmpPort: taken.port, metricsPort, lowLatency: {partSeconds: 0.5, originPort}}))
        .rejects.toThrow(`Cannot start the RTMP server: 127.0.0.1:${taken.port} is already in use`)
      expect(await canListenOn(originPort)).toBe(true)
      expect(await canListenOn(metricsPort)).toBe(true)
    } finally {
      await taken.release()
    }
  })
})
