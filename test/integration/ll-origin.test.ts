/**
 * The low-latency origin of `ingest --low-latency`, against a real push: LL-HLS playlists with
 * every tag (read back with m3u8-parser), a blocking reload held until the part it asks for exists,
 * a request far ahead refused, the preload-hinted part answered with the bytes that part turns out
 * to have, a segment still being written sent in pieces (chunked), the LL-DASH MPD valid against
 * the DASH schema with its low-latency signalling, and at the end, playlists that end while the
 * segments reach storage as usual.
 */
import {execFile} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'

import {Parser} from 'm3u8-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type RunningServer, startApiServer} from '../../src/lib/api/serve.js'
import {openCatalog} from '../../src/lib/catalog/connection.js'
import {createStreamKey} from '../../src/lib/ingest/keys.js'
import {type RunningIngest, startIngestServer} from '../../src/lib/ingest/server.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import {makeTempDir} from '../support/media.js'
import {freePort} from '../support/moto.js'
import {type Push, startPush} from '../support/push.js'
import {waitFor} from '../support/wait.js'

interface Playlist {
  mediaSequence: number
  endList?: boolean
  serverControl?: {canBlockReload?: boolean; canSkipUntil?: number; partHoldBack?: number}
  partInf?: {partTarget: number}
  segments: Array<{uri: string; duration: number; parts?: Array<{uri: string; duration: number; independent?: boolean}>; programDateTime?: number}>
  preloadSegment?: {parts?: Array<{uri: string; duration: number}>; preloadHints?: Array<{type: string; uri: string}>}
  renditionReports?: Array<{uri: string; lastMsn: number; lastPart: number}>
}

const parse = (text: string): Playlist => {
  const parser = new Parser()
  parser.push(text)
  parser.end()
  return parser.manifest as unknown as Playlist
}

/** The last part a playlist lists: its segment's msn and its index. */
function lastPart(playlist: Playlist): {msn: number; part: number} {
  const pending = playlist.preloadSegment?.parts ?? []
  if (pending.length > 0) return {msn: playlist.mediaSequence + playlist.segments.length, part: pending.length - 1}
  const last = playlist.segments.at(-1)
  return {msn: playlist.mediaSequence + playlist.segments.length - 1, part: (last?.parts?.length ?? 1) - 1}
}

const SCHEMA_DIR = path.resolve('test/fixtures/dash-schema')

let work: {dir: string; cleanup: () => Promise<void>}
let dataDir: string
let ingest: RunningIngest
let push: Push
let base: string
let videoId: string
let api: RunningServer

beforeAll(async () => {
  work = await makeTempDir('livectl-ll-origin-')
  dataDir = path.join(work.dir, 'data')
  const catalog = await openCatalog({dataDir})
  const {key} = await createStreamKey(catalog, 'studio')
  await catalog.close()
  const rtmpPort = await freePort()
  ingest = await startIngestServer({
    dataDir, host: '127.0.0.1', rtmpPort, to: path.join(dataDir, 'media'), rungs: standardLadder(['360p', '144p']),
    segmentDurationSeconds: 2, dvrWindowSeconds: 20, preset: 'ultrafast', reconnectGraceSeconds: 0,
    lowLatency: {partSeconds: 0.333, originPort: 0}, log: () => undefined,
  })
  push = startPush(`rtmp://127.0.0.1:${rtmpPort}/live/${key}`, {width: 640, height: 360, durationSeconds: 120})
  await waitFor(() => ingest.streams().length === 1, {what: 'the push to be accepted'})
  videoId = (ingest.streams()[0] as {videoId: string}).videoId
  base = `${ingest.originUrl}/live/${videoId}`
  // Two complete segments, so that every check below has something behind the live edge.
  await waitFor(async () => {
    const response = await fetch(`${base}/media_0.m3u8`)
    return response.ok && parse(await response.text()).segments.length >= 2
  }, {what: 'two complete segments on the origin', timeoutMs: 60_000})
  api = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
})

afterAll(async () => {
  await api?.close()
  push?.kill()
  await ingest?.close()
  await work?.cleanup()
})

describe('LL-HLS from the origin', () => {
  it('serves the master and media playlists with server control, parts, a preload hint and reports for every other rendition', async () => {
    const master = await (await fetch(`${base}/master.m3u8`)).text()
    expect(master).toMatch(/media_0\.m3u8[\s\S]*media_1\.m3u8/)
    expect(master).toContain('media_2.m3u8')
    const response = await fetch(`${base}/media_0.m3u8`)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('cache-control')).toBe('no-cache')
    const playlist = parse(await response.text())
    expect(playlist.serverControl).toMatchObject({canBlockReload: true, canSkipUntil: 12})
    // The RFC's floor is twice the part target; livectl serves 2.5 times (PART_HOLD_BACK_PARTS).
    expect(playlist.serverControl?.partHoldBack).toBeCloseTo(2.5 * (playlist.partInf?.partTarget ?? 1), 2)
    expect(playlist.serverControl?.partHoldBack).toBeGreaterThanOrEqual(2 * (playlist.partInf?.partTarget ?? 1))
    // A part target of the part duration plus one frame: 0.333 + 1/30.
    expect(playlist.partInf).toEqual({partTarget: 0.367})
    const withParts = playlist.segments.filter((segment) => (segment.parts ?? []).length > 0)
    expect(withParts.length).toBeGreaterThan(0)
    for (const segment of withParts) {
      expect(segment.parts?.[0]?.independent).toBe(true)
      expect(segment.parts?.reduce((sum, part) => sum + part.duration, 0)).toBeCloseTo(segment.duration, 2)
      for (const part of segment.parts ?? []) expect(part.duration).toBeLessThanOrEqual(0.367)
    }

    expect(playlist.segments.every((segment) => typeof segment.programDateTime === 'number')).toBe(true)
    expect(playlist.preloadSegment?.preloadHints?.[0]?.type).toBe('PART')
    expect(playlist.renditionReports?.map((report) => report.uri).sort()).toEqual(['media_1.m3u8', 'media_2.m3u8'])
    for (const report of playlist.renditionReports ?? []) expect(report.lastMsn).toBeGreaterThanOrEqual(playlist.mediaSequence + playlist.segments.length - 1)
  })

  it('holds a blocking reload until the part it asks for exists, and answers one already there at once', async () => {
    const before = parse(await (await fetch(`${base}/media_0.m3u8`)).text())
    const {msn, part} = lastPart(before)
    // The next part, as a player asks for it: the one the preload hint names, not in the playlist just read.
    const [, number, index] = /-(\d+)\.p(\d+)\.m4s$/.exec(before.preloadSegment?.preloadHints?.[0]?.uri ?? '') as RegExpExecArray
    const next = {msn: Number(number) - 1, part: Number(index)}
    expect(next.msn > msn || next.part > part).toBe(true)
    const response = await fetch(`${base}/media_0.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('public, max-age=60')
    const after = lastPart(parse(await response.text()))
    expect(after.msn > next.msn || (after.msn === next.msn && after.part >= next.part)).toBe(true)
    // A part after the last of a complete segment is the first part of the next one.
    const beyond = parse(await (await fetch(`${base}/media_0.m3u8?_HLS_msn=${next.msn}&_HLS_part=99`)).text())
    expect(lastPart(beyond).msn).toBeGreaterThan(next.msn)
    // Asking for what exists is answered with it.
    const again = parse(await (await fetch(`${base}/media_0.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`)).text())
    const listed = lastPart(again)
    expect(listed.msn > msn || listed.part >= part).toBe(true)
  })

  it('refuses a blocking reload more than two segments ahead with 400 in the JSON envelope, and a malformed one too', async () => {
    const {msn} = lastPart(parse(await (await fetch(`${base}/media_1.m3u8`)).text()))
    const far = await fetch(`${base}/media_1.m3u8?_HLS_msn=${msn + 3}`)
    expect(far.status).toBe(400)
    expect(await far.json()).toMatchObject({error: {status: 400, code: 'bad_request', message: expect.stringContaining('more than two segments')}})
    const malformed = await fetch(`${base}/media_1.m3u8?_HLS_part=1`)
    expect(malformed.status).toBe(400)
    expect((await fetch(`${ingest.originUrl}/live/no-such-video/media_0.m3u8`)).status).toBe(404)
  })

  it('answers the preload-hinted part once it begins, with the bytes that part of the segment has', async () => {
    const playlist = parse(await (await fetch(`${base}/media_0.m3u8`)).text())
    const hint = playlist.preloadSegment?.preloadHints?.[0]?.uri as string
    const response = await fetch(`${base}/${hint}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('video/iso.segment')
    const bytes = Buffer.from(await response.arrayBuffer())
    expect(bytes.length).toBeGreaterThan(0)
    // Once the segment is complete, the part is exactly its byte range in it.
    const [, segmentName, index] = /^(.+)\.p(\d+)\.m4s$/.exec(hint) as RegExpExecArray
    const segmentUri = `${segmentName}.m4s`
    let complete: Playlist | undefined
    await waitFor(async () => {
      complete = parse(await (await fetch(`${base}/media_0.m3u8`)).text())
      return complete.segments.some((segment) => segment.uri === segmentUri && (segment.parts?.length ?? 0) > 0)
    }, {what: `${segmentUri} complete`})
    const segment = Buffer.from(await (await fetch(`${base}/${segmentUri}`)).arrayBuffer())
    const parts = await Promise.all((complete?.segments.find((entry) => entry.uri === segmentUri)?.parts ?? []).map(async (part) => Buffer.from(await (await fetch(`${base}/${part.uri}`)).arrayBuffer())))
    expect(Buffer.concat(parts).equals(segment)).toBe(true)
    expect(parts[Number(index)]?.equals(bytes)).toBe(true)
  })

  it('sends a segment still being written in pieces, as its chunks are written (chunked transfer)', async () => {
    const playlist = parse(await (await fetch(`${base}/media_0.m3u8`)).text())
    // The segment after the one being written: requested before it begins.
    const next = playlist.mediaSequence + playlist.segments.length + 1
    const name = `seg-0-${String(next + 1).padStart(5, '0')}.m4s`
    const response = await fetch(`${base}/${name}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-length')).toBeNull()
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const pieces: number[] = []
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      pieces.push(value.length)
    }

    // Six chunks of 1/3 s, written as they were encoded: more than one piece on the wire.
    expect(pieces.length).toBeGreaterThan(1)
    const stored = await fetch(`${base}/${name}`)
    expect(Number(stored.headers.get('content-length'))).toBe(pieces.reduce((sum, length) => sum + length, 0))
  })
})

describe('a player that knows nothing of low latency', () => {
  it('plays the same playlists as ordinary live HLS (ffmpeg reading the master)', async () => {
    const {stderr} = await promisify(execFile)('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-live_start_index', '0', '-i', `${base}/master.m3u8`, '-map', '0:v:0', '-frames:v', '30', '-f', 'null', '-'])
    expect(stderr).toBe('')
  })
})

describe('serve, while the stream is live', () => {
  it('gives the origin\'s playlists as the URLs to play, marked low latency, and lets the watch page fetch from the origin', async () => {
    const video = await (await fetch(`${api.url}/videos/${videoId}`)).json() as {status: string; hlsUrl: string; dashUrl: string; lowLatency: boolean}
    expect(video).toMatchObject({status: 'live', hlsUrl: `${base}/master.m3u8`, dashUrl: `${base}/manifest.mpd`, lowLatency: true})
    const page = await fetch(`${api.url}/watch/${videoId}`)
    expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ${ingest.originUrl}`)
    // Other pages do not get the origin.
    expect((await fetch(`${api.url}/`)).headers.get('content-security-policy')).not.toContain(ingest.originUrl)
  })
})

describe('LL-DASH from the origin', () => {
  it('serves a dynamic MPD, valid against the DASH schema, with availability offsets, a latency target, producer reference times and the origin clock', async () => {
    const response = await fetch(`${base}/manifest.mpd`)
    expect(response.headers.get('content-type')).toMatch(/dash\+xml/)
    const mpd = await response.text()
    expect(mpd).toContain('type="dynamic"')
    expect(mpd).toMatch(/availabilityTimeComplete="false"/)
    expect(mpd).toMatch(/availabilityTimeOffset="1\.667"/)
    expect(mpd).toMatch(/<ServiceDescription[\s\S]*<Latency target="\d+"/)
    expect(mpd).toContain('<ProducerReferenceTime')
    expect(mpd).toContain(`value="${ingest.originUrl}/clock"`)
    expect(mpd).toContain('timeShiftBufferDepth="PT20S"')
    const file = path.join(work.dir, 'live.mpd')
    await writeFile(file, mpd)
    const {stderr} = await promisify(execFile)('xmllint', ['--nonet', '--noout', '--schema', path.join(SCHEMA_DIR, 'DASH-MPD.xsd'), file], {env: {...process.env, XML_CATALOG_FILES: path.join(SCHEMA_DIR, 'catalog.xml')}})
    expect(stderr).toContain('validates')
    // The clock it points at answers with the origin's time.
    const clock = await (await fetch(`${ingest.originUrl}/clock`)).text()
    expect(Math.abs(Date.parse(clock) - Date.now())).toBeLessThan(60_000)
  })
})

describe('the end of a low-latency stream', () => {
  it('ends the playlists with EXT-X-ENDLIST and keeps every segment in storage as for any live stream', async () => {
    // The broadcaster stops.
    push.stop()
    await push.done
    await waitFor(async () => (await (await fetch(`${base}/media_0.m3u8`)).text()).includes('#EXT-X-ENDLIST'), {what: 'the LL playlist to end', timeoutMs: 60_000})
    const ended = parse(await (await fetch(`${base}/media_0.m3u8`)).text())
    expect(ended.preloadSegment).toBeUndefined()
    await waitFor(async () => (await readFile(path.join(dataDir, 'media', videoId, 'media_0.m3u8'), 'utf8').catch(() => '')).includes('#EXT-X-ENDLIST'), {what: 'the stored playlist to end'})
    const stored = parse(await readFile(path.join(dataDir, 'media', videoId, 'media_0.m3u8'), 'utf8'))
    // Ended, the video plays from storage again.
    await waitFor(async () => ((await (await fetch(`${api.url}/videos/${videoId}`)).json()) as {status: string}).status === 'ended', {what: 'the video to end'})
    const video = await (await fetch(`${api.url}/videos/${videoId}`)).json() as {hlsUrl: string; lowLatency: boolean}
    expect(video.lowLatency).toBe(false)
    expect(video.hlsUrl).toBe(`${api.url}/media/${videoId}/master.m3u8`)
    // The origin's playlist ends with the DVR window; storage keeps the whole stream, ending the same way.
    expect(stored.segments.slice(-ended.segments.length).map((segment) => segment.uri)).toEqual(ended.segments.map((segment) => segment.uri))
  })
})
