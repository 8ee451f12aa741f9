/**
 * Live streams under faults, with real pushes, real ffmpeg and real storage: storage that fails for
 * a while (nothing lost, in order, playlists never ahead of storage), storage that never comes
 * back (the video ends failed, its encoder stopped, its segments kept locally for a later publish),
 * a single SIGTERM to `livectl ingest` (every stream ended properly), a kill -9 of it and a restart
 * (the streams it left live are closed from storage, and only its own), a full disk.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {access, mkdir, readdir, readFile} from 'node:fs/promises'
import path from 'node:path'

import {CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'
import {createConnection} from 'mysql2/promise'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openCatalog} from '../../src/lib/catalog/connection.js'
import {findVideoWithPackage, upsertVideo} from '../../src/lib/catalog/videos.js'
import {createStreamKey} from '../../src/lib/ingest/keys.js'
import {type RunningIngest, startIngestServer} from '../../src/lib/ingest/server.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import {readPackageManifest} from '../../src/lib/package/manifest.js'
import {parseM3u8, verifyPackage} from '../../src/lib/package/verify.js'
import {publishPackage} from '../../src/lib/publish/publish.js'
import {startCli} from '../support/cli.js'
import {startFaultProxy, type FaultProxy} from '../support/fault-proxy.js'
import {decodeCleanly, makeTempDir} from '../support/media.js'
import {createTestDatabase, MYSQL_ADMIN_URL, runMysqlSuites} from '../support/mysql.js'
import {freePort, runMotoSuites, startMoto, useFakeAwsCredentials, type MotoServer} from '../support/moto.js'
import {startPush} from '../support/push.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-faults-live-')
})

afterAll(async () => {
  await work?.cleanup()
})

const exists = (file: string) => access(file).then(() => true, () => false)
const LIVE = {rungs: standardLadder(['144p']), segmentDurationSeconds: 1, dvrWindowSeconds: 4, preset: 'ultrafast'}

async function newKey(dataDir: string, name: string, db?: string): Promise<string> {
  const catalog = await openCatalog({url: db, dataDir})
  try {
    return (await createStreamKey(catalog, name)).key
  } finally {
    await catalog.close()
  }
}

/** ffmpeg processes still running for this work folder (the live encoder writes into it). */
function encodersFor(workDir: string): number {
  const found = spawnSync('pgrep', ['-f', workDir], {encoding: 'utf8'})
  return found.stdout.trim() === '' ? 0 : found.stdout.trim().split('\n').length
}

describe.runIf(runMotoSuites)('storage failing under a live stream', () => {
  let moto: MotoServer
  let proxy: FaultProxy
  let s3: S3Client

  beforeAll(async () => {
    useFakeAwsCredentials()
    moto = await startMoto()
    proxy = await startFaultProxy(moto.endpoint)
    s3 = new S3Client({endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1'})
    await s3.send(new CreateBucketCommand({Bucket: 'live'}))
  })

  afterAll(async () => {
    await proxy?.close()
    await moto?.stop()
  })

  const listed = async (prefix: string) => new Set(((await s3.send(new ListObjectsV2Command({Bucket: 'live', Prefix: prefix}))).Contents ?? []).map((object) => object.Key?.slice(prefix.length) ?? ''))
  const text = async (key: string) => (await s3.send(new GetObjectCommand({Bucket: 'live', Key: key}))).Body?.transformToString()

  async function startOn(name: string, storageOutageLimitSeconds: number): Promise<{ingest: RunningIngest; dataDir: string; key: string; ended: Map<string, {status: string; reason?: string}>}> {
    const dataDir = path.join(work.dir, name)
    const key = await newKey(dataDir, name)
    const ended = new Map<string, {status: string; reason?: string}>()
    const ingest = await startIngestServer({
      dataDir, host: '127.0.0.1', rtmpPort: await freePort(), to: `s3://live/${name}`, s3Endpoint: proxy.url, ...LIVE,
      reconnectGraceSeconds: 1, storageOutageLimitSeconds, log: (line) => process.env.LIVECTL_TEST_LOG && console.log(name, line),
    })
    ingest.onSessionEnd((result) => ended.set(result.videoId, result))
    return {ingest, dataDir, key, ended}
  }

  it('loses nothing when storage fails for a while: segments wait and go out in order, playlists never ahead of storage', async () => {
    const {ingest, key, ended} = await startOn('outage', 60)
    const port = new URL(ingest.rtmpUrl).port
    try {
      const push = startPush(`rtmp://127.0.0.1:${port}/live/${key}`, {width: 320, height: 180, durationSeconds: 16})
      await waitFor(() => ingest.streams().length === 1, {what: 'the stream'})
      const {videoId} = ingest.streams()[0] as {videoId: string}
      const prefix = `outage/${videoId}/`
      await waitFor(async () => [...(await listed(prefix))].filter((file) => file.startsWith('seg-0-')).length >= 2, {what: 'the first segments'})
      // Storage resets every connection for 6 s.
      const until = Date.now() + 6000
      proxy.setFaults(() => (Date.now() < until ? {kind: 'reset'} : undefined))
      const violations: string[] = []
      while (!push.exited) {
        // The playlist first, then the listing: whatever the playlist named was in storage before it, so the later listing has it.
        const playlist = await text(`${prefix}media_0.m3u8`).catch(() => undefined)
        const stored = await listed(prefix)
        for (const segment of playlist ? parseM3u8(playlist).segments : []) if (!stored.has(segment.uri)) violations.push(segment.uri)
      }

      await waitFor(() => ended.has(videoId), {what: 'the stream to end', timeoutMs: 90_000})
      expect(ended.get(videoId)?.status).toBe('ended')
      expect(violations).toEqual([])
      const final = parseM3u8((await text(`${prefix}media_0.m3u8`)) as string)
      const files = final.segments.map((segment) => segment.uri)
      // Every segment from the first, none missing, in order, all in storage.
      expect(files).toEqual(files.map((_, index) => `seg-0-${String(index + 1).padStart(5, '0')}.m4s`))
      expect(files.length).toBeGreaterThanOrEqual(12)
      const stored = await listed(prefix)
      for (const file of files) expect(stored.has(file), file).toBe(true)
    } finally {
      proxy.setFaults(undefined)
      await ingest.close()
    }
  })

  it('ends the video failed when storage stays away, stops its encoder, and keeps its segments for a later publish', async () => {
    const {ingest, dataDir, key, ended} = await startOn('gone', 3)
    const port = new URL(ingest.rtmpUrl).port
    try {
      const push = startPush(`rtmp://127.0.0.1:${port}/live/${key}`, {width: 320, height: 180, durationSeconds: 30})
      await waitFor(() => ingest.streams().length === 1, {what: 'the stream'})
      const {videoId} = ingest.streams()[0] as {videoId: string}
      const prefix = `gone/${videoId}/`
      await waitFor(async () => (await listed(prefix)).has('media_0.m3u8'), {what: 'the first playlist'})
      proxy.setFaults(() => ({kind: 'reset'}))
      await waitFor(() => ended.has(videoId), {what: 'the stream to fail', timeoutMs: 60_000})
      push.kill()
      expect(ended.get(videoId)).toMatchObject({status: 'failed', reason: expect.stringMatching(/^storage was unavailable for \d+ s: Could not publish/)})
      const workDir = path.join(dataDir, 'live', videoId)
      expect(encodersFor(workDir)).toBe(0)
      const catalog = await openCatalog({dataDir})
      try {
        expect(await findVideoWithPackage(catalog, videoId)).toMatchObject({status: 'failed', statusReason: expect.stringMatching(/storage was unavailable/)})
      } finally {
        await catalog.close()
      }

      // What was published stays playable: the stored playlist only names stored segments.
      proxy.setFaults(undefined)
      const stored = await listed(prefix)
      for (const segment of parseM3u8((await text(`${prefix}media_0.m3u8`)) as string).segments) expect(stored.has(segment.uri), segment.uri).toBe(true)
      // The whole stream waits in the work folder as a package `livectl publish` takes.
      const local = await readPackageManifest(workDir)
      await verifyPackage(workDir, local)
      const rescued = await publishPackage({packageDir: workDir, to: path.join(work.dir, 'rescued'), videoId: 'rescued', dataDir})
      expect(rescued.files).toBeGreaterThan(stored.size)
    } finally {
      proxy.setFaults(undefined)
      await ingest.close()
    }
  })
})

describe('stopping and crashing livectl ingest', () => {
  /** Starts `livectl ingest` as a process and waits until it listens. */
  async function startIngestCli(dataDir: string, port: number, extra: string[] = []) {
    const run = startCli(['ingest', '--rtmp-port', String(port), '--data-dir', dataDir, '--live-ladder', '144p', '--segment-duration', '1', '--preset', 'ultrafast', '--dvr-window', '4', '--reconnect-grace', '2', '--json', ...extra])
    let stderr = ''
    run.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    await waitFor(() => /listening on rtmp/.test(stderr) || run.child.exitCode !== null, {what: 'ingest to listen'})
    if (!/listening on rtmp/.test(stderr)) throw new Error(`ingest did not start: ${stderr}`)
    return {run, stderr: () => stderr}
  }

  async function liveVideo(dataDir: string): Promise<{id: string; dir: string}> {
    let id = ''
    await waitFor(async () => {
      const catalog = await openCatalog({dataDir})
      try {
        const row = await catalog.db.selectFrom('videos').select('id').where('status', '=', 'live').executeTakeFirst()
        id = row?.id ?? ''
      } finally {
        await catalog.close()
      }

      return id !== '' && (await readdir(path.join(dataDir, 'media', id)).catch(() => [] as string[])).filter((file) => file.startsWith('seg-0-')).length >= 3
    }, {what: 'a live video with segments in storage'})
    return {id, dir: path.join(dataDir, 'media', id)}
  }

  async function expectClosedVod(dataDir: string, id: string): Promise<void> {
    const dir = path.join(dataDir, 'media', id)
    const catalog = await openCatalog({dataDir})
    try {
      expect((await findVideoWithPackage(catalog, id))?.status).toBe('ended')
    } finally {
      await catalog.close()
    }

    const playlist = await readFile(path.join(dir, 'media_0.m3u8'), 'utf8')
    expect(playlist).toContain('#EXT-X-ENDLIST')
    const mpd = await readFile(path.join(dir, 'manifest.mpd'), 'utf8')
    expect(mpd).toMatch(/type="static"/)
    expect(mpd).toMatch(/mediaPresentationDuration="PT[\d.]+S"/)
    expect(mpd).not.toMatch(/availabilityStartTime|minimumUpdatePeriod|timeShiftBufferDepth/)
    const manifest = await readPackageManifest(dir)
    await verifyPackage(dir, manifest)
    expect(manifest.renditions[0]?.segments.length).toBe(parseM3u8(playlist).segments.length)
  }

  it('ends every live stream on one SIGTERM: encoder drained, ENDLIST, static MPD, package manifest, video ended', async () => {
    const dataDir = path.join(work.dir, 'sigterm')
    const key = await newKey(dataDir, 'sigterm')
    const port = await freePort()
    const {run} = await startIngestCli(dataDir, port)
    const push = startPush(`rtmp://127.0.0.1:${port}/live/${key}`, {width: 320, height: 180, durationSeconds: 60})
    try {
      const {id} = await liveVideo(dataDir)
      run.child.kill('SIGTERM')
      const result = await run.done
      expect(result.exitCode, result.stderr).toBe(0)
      expect(result.stderr).not.toMatch(/exiting now/)
      expect(JSON.parse(result.stdout)).toMatchObject({stoppedBy: 'Received SIGTERM'})
      await expectClosedVod(dataDir, id)
    } finally {
      push.kill()
      run.child.kill('SIGKILL')
    }
  })

  it('after kill -9 and a restart, closes the streams this node left live from what reached storage, and only its own', async () => {
    const dataDir = path.join(work.dir, 'crash')
    const key = await newKey(dataDir, 'crash')
    const port = await freePort()
    const first = await startIngestCli(dataDir, port, ['--node-id', 'node-a'])
    const push = startPush(`rtmp://127.0.0.1:${port}/live/${key}`, {width: 320, height: 180, durationSeconds: 60})
    let second: Awaited<ReturnType<typeof startIngestCli>> | undefined
    try {
      const {id} = await liveVideo(dataDir)
      first.run.child.kill('SIGKILL')
      await first.run.done
      push.kill()
      // Another node's live stream in the same catalog: not this node's to close.
      const catalog = await openCatalog({dataDir})
      await upsertVideo(catalog, {id: 'other-node', title: 'elsewhere', status: 'live', packageLocation: '/elsewhere', ingestNode: 'node-b'})
      expect((await findVideoWithPackage(catalog, id))?.status).toBe('live')
      await catalog.close()

      second = await startIngestCli(dataDir, await freePort(), ['--node-id', 'node-a'])
      expect(second.stderr()).toMatch(new RegExp(`live ${id} was left live by this node`))
      await expectClosedVod(dataDir, id)
      const after = await openCatalog({dataDir})
      try {
        expect((await findVideoWithPackage(after, 'other-node'))?.status).toBe('live')
      } finally {
        await after.close()
      }

      second.run.child.kill('SIGTERM')
      const result = await second.run.done
      expect(JSON.parse(result.stdout).reconciled).toEqual([expect.objectContaining({videoId: id, status: 'ended'})])
    } finally {
      push.kill()
      first.run.child.kill('SIGKILL')
      second?.run.child.kill('SIGKILL')
    }
  })
})

describe.runIf(runMysqlSuites)('a MySQL catalog dropped and created again under a live stream', () => {
  it('keeps the stream going, migrates the catalog again, and ends the video with its status written', async () => {
    const database = await createTestDatabase()
    const name = new URL(database.url).pathname.slice(1)
    const dataDir = path.join(work.dir, 'mysql-live')
    const key = await newKey(dataDir, 'mysql', database.url)
    const ended = new Map<string, {status: string}>()
    let ingest: RunningIngest | undefined
    const admin = async (statement: string) => {
      const connection = await createConnection({uri: MYSQL_ADMIN_URL})
      try {
        await connection.query(statement)
      } finally {
        await connection.end()
      }
    }

    try {
      ingest = await startIngestServer({db: database.url, dataDir, host: '127.0.0.1', rtmpPort: await freePort(), to: path.join(dataDir, 'media'), ...LIVE, reconnectGraceSeconds: 1, log: () => undefined})
      ingest.onSessionEnd((result) => ended.set(result.videoId, result))
      const push = startPush(`rtmp://127.0.0.1:${new URL(ingest.rtmpUrl).port}/live/${key}`, {width: 320, height: 180, durationSeconds: 14})
      await waitFor(() => (ingest as RunningIngest).streams().length === 1, {what: 'the stream'})
      const {videoId} = ingest.streams()[0] as {videoId: string}
      await waitFor(async () => (await readdir(path.join(dataDir, 'media', videoId)).catch(() => [] as string[])).length > 3, {what: 'the first segments'})
      await admin(`DROP DATABASE \`${name}\``)
      await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
      await push.done
      await waitFor(() => ended.has(videoId), {what: 'the stream to end', timeoutMs: 60_000})
      expect(ended.get(videoId)?.status).toBe('ended')
      const catalog = await openCatalog({url: database.url, dataDir})
      try {
        expect(await findVideoWithPackage(catalog, videoId)).toMatchObject({status: 'ended'})
      } finally {
        await catalog.close()
      }
    } finally {
      await ingest?.close()
      await database.drop()
    }
  })
})

/** A 2 MiB tmpfs to fill up; needs root (CI runs as root). Skipped elsewhere when it cannot be mounted. */
function mountSmallDisk(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const canMount = process.getuid?.() === 0 || Boolean(process.env.CI && process.env.CI !== 'false')

describe.runIf(canMount)('a full disk under the data directory', () => {
  it('ends the stream failed with a clear reason, and leaves nothing corrupt in storage', async () => {
    const dataDir = path.join(work.dir, 'full-disk')
    await mkdir(dataDir, {recursive: true})
    expect(mountSmallDisk(dataDir), 'mount a 2 MiB tmpfs (needs root)').toBe(true)
    const db = `sqlite:${path.join(work.dir, 'full-disk-catalog.db')}`
    const media = path.join(work.dir, 'full-disk-media')
    let ingest: RunningIngest | undefined
    try {
      const key = await newKey(dataDir, 'full', db)
      const ended = new Map<string, {status: string; reason?: string}>()
      ingest = await startIngestServer({db, dataDir, host: '127.0.0.1', rtmpPort: await freePort(), to: media, ...LIVE, reconnectGraceSeconds: 1, log: (line) => process.env.LIVECTL_TEST_LOG && console.log('full', line)})
      ingest.onSessionEnd((result) => ended.set(result.videoId, result))
      const push = startPush(`rtmp://127.0.0.1:${new URL(ingest.rtmpUrl).port}/live/${key}`, {width: 640, height: 360, durationSeconds: 60})
      await waitFor(() => (ingest as RunningIngest).streams().length === 1, {what: 'the stream'})
      const {videoId} = ingest.streams()[0] as {videoId: string}
      await waitFor(() => ended.has(videoId), {what: 'the disk to fill and the stream to fail', timeoutMs: 90_000})
      push.kill()
      expect(ended.get(videoId)).toMatchObject({status: 'failed', reason: expect.stringMatching(/space/i)})
      // Storage holds complete segments only, each decodable with its init segment; the playlist names only stored files.
      const dir = path.join(media, videoId)
      const stored = await readdir(dir).catch(() => [] as string[])
      expect(stored.filter((file) => file.includes('.tmp'))).toEqual([])
      if (stored.includes('media_0.m3u8')) {
        const playlist = parseM3u8(await readFile(path.join(dir, 'media_0.m3u8'), 'utf8'))
        for (const segment of playlist.segments) expect(await exists(path.join(dir, segment.uri)), segment.uri).toBe(true)
        const concatenated = path.join(work.dir, 'full-disk-check.mp4')
        const parts = [path.join(dir, 'init-0.m4s'), ...playlist.segments.map((segment) => path.join(dir, segment.uri))]
        execFileSync('sh', ['-c', 'cat "$@" > "$0"', concatenated, ...parts])
        await decodeCleanly(concatenated)
      }
    } finally {
      await ingest?.close()
      spawnSync('umount', ['-l', dataDir])
    }
  })
})
