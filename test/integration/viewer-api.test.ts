/**
 * What the viewer side adds to the API, over real HTTP: CORS for players on other origins (reading
 * yes, posting only from listed origins), comments with a media time, the live comment stream
 * (from now, from a cursor, after a reconnect, across replicas), and the pages with their assets.
 */
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer, type RunningServer} from '../../src/lib/api/serve.js'
import {registerPackage} from '../../src/lib/catalog/service.js'
import {makeTempDir} from '../support/media.js'
import {createTestDatabase, runMysqlSuites} from '../support/mysql.js'
import {makePackage} from '../support/package.js'
import {openSse, type SseStream} from '../support/sse.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}
let packageDir: string
let dataDir: string
let server: RunningServer
let base: string
const streams: SseStream[] = []

const OTHER_ORIGIN = 'http://127.0.0.1:1'
const LISTED_ORIGIN = 'https://app.example.com'

beforeAll(async () => {
  work = await makeTempDir('livectl-viewer-')
  ;({packageDir} = await makePackage(work.dir))
  dataDir = path.join(work.dir, 'data')
  await registerPackage({dataDir, packageDir, id: 'clip', title: 'A <b>bold</b> "clip"'})
  server = await startApiServer({dataDir, host: '127.0.0.1', port: 0, corsOrigins: `*,${LISTED_ORIGIN}`, heartbeatMs: 200})
  base = server.url
})

afterAll(async () => {
  for (const stream of streams) stream.close()
  await server?.close()
  await work?.cleanup()
})

const post = (body: object, headers: Record<string, string> = {}) =>
  fetch(`${base}/comment`, {method: 'POST', headers: {'content-type': 'application/json', ...headers}, body: JSON.stringify(body)})

async function stream(query: string, headers: Record<string, string> = {}, at = base): Promise<SseStream> {
  const opened = await openSse(`${at}/video/comments/stream?${query}`, headers)
  streams.push(opened)
  return opened
}

describe('CORS', () => {
  it('lets any origin read the API and the media, ranges included', async () => {
    const frames = await fetch(`${base}/video/time?id=clip&device=mobile`, {headers: {origin: OTHER_ORIGIN}})
    expect(frames.headers.get('access-control-allow-origin')).toBe('*')
    const media = await fetch(`${base}/media/clip/master.m3u8`, {headers: {origin: OTHER_ORIGIN, range: 'bytes=0-9'}})
    expect(media.status).toBe(206)
    expect(media.headers.get('access-control-allow-origin')).toBe('*')
    const exposed = media.headers.get('access-control-expose-headers')?.toLowerCase() ?? ''
    for (const header of ['content-range', 'content-length', 'accept-ranges']) expect(exposed).toContain(header)
  })

  it('answers preflights with 204, allowing Range', async () => {
    const preflight = await fetch(`${base}/media/clip/seg-0-00001.m4s`, {
      method: 'OPTIONS',
      headers: {origin: OTHER_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range'},
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('range')
  })

  it('never lets * post: a preflight for POST from an unlisted origin gets no allow-origin, and the post itself is refused', async () => {
    const preflight = await fetch(`${base}/comment`, {
      method: 'OPTIONS',
      headers: {origin: OTHER_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type'},
    })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(preflight.status).toBe(403)
    expect((await preflight.json()).error.message).toMatch(/--cors-origins/)
    const refused = await post({video_id: 'clip', author: 'mallory', data: 'cross-site'}, {origin: OTHER_ORIGIN})
    expect(refused.status).toBe(403)
    expect((await refused.json()).error).toMatchObject({status: 403, code: 'forbidden'})
    const listed = await (await fetch(`${base}/video/comments?video_id=clip&limit=200`)).json() as {comments: Array<{data: string}>}
    expect(listed.comments.map((comment) => comment.data)).not.toContain('cross-site')
  })

  it('lets a listed origin post, and the server\'s own pages post as themselves', async () => {
    const listed = await post({video_id: 'clip', author: 'app', data: 'from the app'}, {origin: LISTED_ORIGIN})
    expect(listed.status).toBe(201)
    expect(listed.headers.get('access-control-allow-origin')).toBe(LISTED_ORIGIN)
    const own = await post({video_id: 'clip', author: 'page', data: 'from the watch page'}, {origin: base})
    expect(own.status).toBe(201)
  })

  it('refuses a --cors-origins entry that is not an origin', async () => {
    await expect(startApiServer({dataDir, host: '127.0.0.1', port: 0, corsOrigins: 'https://app.example.com/path'})).rejects.toThrow(/not an origin/)
  })
})

describe('comments with a media time', () => {
  it('stores and returns at, and old clients without it keep working', async () => {
    const timed = await post({video_id: 'clip', author: 'ada', data: 'at four seconds', at: 4.25})
    expect(timed.status).toBe(201)
    expect(await timed.json()).toMatchObject({at: 4.25, cursor: expect.any(String)})
    const untimed = await post({video_id: 'clip', author: 'bob', data: 'whenever'})
    expect(await untimed.json()).toMatchObject({at: null})
    for (const at of [-1, 'soon', 1e9]) expect((await post({video_id: 'clip', author: 'x', data: 'y', at})).status, String(at)).toBe(400)
  })
})

describe('GET /video/comments/stream', () => {
  it('streams new comments as they are stored, from now, with their cursor as the event id', async () => {
    await post({video_id: 'clip', author: 'old', data: 'before the stream'})
    const live = await stream('video_id=clip')
    expect(live.status).toBe(200)
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/)
    await waitFor(() => live.retry !== undefined, {what: 'the stream to open'})
    const posted = await (await post({video_id: 'clip', author: 'ada', data: 'hello live', at: 1})).json() as {id: string; cursor: string}
    await waitFor(() => live.events.length > 0, {what: 'the comment event'})
    expect(live.events).toHaveLength(1)
    expect(live.events[0]).toMatchObject({event: 'comment', id: posted.cursor})
    expect(JSON.parse(live.events[0]?.data ?? '{}')).toEqual(posted)
  })

  it('resumes after Last-Event-ID with exactly what was missed, nothing twice', async () => {
    const first = await stream('video_id=clip')
    await waitFor(() => first.retry !== undefined, {what: 'the stream to open'})
    await post({video_id: 'clip', author: 'a', data: 'seen 1'})
    await waitFor(() => first.events.length === 1, {what: 'the first event'})
    first.close()
    const lastEventId = first.events[0]?.id as string
    for (const data of ['missed 1', 'missed 2']) await post({video_id: 'clip', author: 'a', data})
    // A reconnecting EventSource sends the last id it saw; it wins over the ?after it was opened with.
    const again = await stream(`video_id=clip&after=${first.events[0]?.id}`, {'last-event-id': lastEventId})
    await waitFor(() => again.events.length >= 2, {what: 'the missed events'})
    await post({video_id: 'clip', author: 'a', data: 'new 1'})
    await waitFor(() => again.events.length >= 3, {what: 'the new event'})
    expect(again.events.map((event) => JSON.parse(event.data).data)).toEqual(['missed 1', 'missed 2', 'new 1'])
  })

  it('keeps idle streams open with a heartbeat comment', async () => {
    const idle = await stream('video_id=clip')
    await waitFor(() => idle.comments.length > 0, {what: 'a heartbeat'})
  })

  it('refuses an unknown video (404) and a bad cursor (400) as JSON, before streaming', async () => {
    const unknown = await fetch(`${base}/video/comments/stream?video_id=nope`)
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).error).toMatchObject({status: 404, code: 'not_found'})
    const bad = await fetch(`${base}/video/comments/stream?video_id=clip&after=zzz`)
    expect(bad.status).toBe(400)
    expect((await bad.json()).error.code).toBe('bad_request')
  })

  it('forgets streams whose clients leave at any moment, even while the stream is starting', async () => {
    const gauge = async () => Number(/^livectl_comment_streams_open (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1])
    const before = await gauge()
    const leaving = Array.from({length: 20}, async (_, index) => {
      const controller = new AbortController()
      const response = fetch(`${base}/video/comments/stream?video_id=clip&after=${encodeURIComponent(Buffer.from('c0').toString('base64url'))}`, {signal: controller.signal})
      // Leave after a different number of turns of the event loop each time: before, during and after the catch-up.
      for (let turn = 0; turn < index; turn += 1) await new Promise((resolve) => setImmediate(resolve))
      controller.abort()
      await response.then((opened) => opened.body?.cancel(), () => undefined)
    })
    await Promise.all(leaving)
    await waitFor(async () => (await gauge()) === before, {what: 'every stream to be forgotten'})
  })

  it('counts open streams in /metrics, and a server that stops ends its streams', async () => {
    const other = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
    const open = await stream('video_id=clip', {}, other.url)
    await waitFor(() => open.retry !== undefined, {what: 'the stream to open'})
    expect(await (await fetch(`${other.url}/metrics`)).text()).toMatch(/livectl_comment_streams_open 1/)
    await other.close()
    await open.ended
  })
})

describe.runIf(runMysqlSuites)('comment streams across replicas (MySQL)', () => {
  it('delivers a comment posted through one replica to a stream on another', async () => {
    const database = await createTestDatabase()
    const replicaData = path.join(work.dir, 'replicas')
    await registerPackage({db: database.url, dataDir: replicaData, packageDir, id: 'shared', title: 'Shared'})
    const one = await startApiServer({db: database.url, dataDir: replicaData, host: '127.0.0.1', port: 0, commentPollMs: 50})
    const two = await startApiServer({db: database.url, dataDir: replicaData, host: '127.0.0.1', port: 0, commentPollMs: 50})
    try {
      const onTwo = await stream('video_id=shared', {}, two.url)
      await waitFor(() => onTwo.retry !== undefined, {what: 'the stream to open'})
      const posted = await (await fetch(`${one.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'shared', author: 'ada', data: 'via replica one'})})).json()
      await waitFor(() => onTwo.events.length > 0, {what: 'the comment on replica two'})
      expect(JSON.parse(onTwo.events[0]?.data ?? '{}')).toEqual(posted)
    } finally {
      await one.close()
      await two.close()
      await database.drop()
    }
  })
})

describe('pages', () => {
  it('GET / lists the videos with links to their watch pages, titles as text', async () => {
    const response = await fetch(`${base}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await response.text()
    expect(html).toContain('<a href="/watch/clip">A &lt;b&gt;bold&lt;/b&gt; &quot;clip&quot;</a>')
    expect(html).not.toContain('<b>bold</b>')
  })

  it('GET /watch/ID is a page with the player hooks, a strict CSP and no inline script', async () => {
    const response = await fetch(`${base}/watch/clip?device=mobile`)
    expect(response.status).toBe(200)
    const csp = response.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    const html = await response.text()
    for (const hook of ['player', 'quality-menu', 'current-rendition', 'live-badge', 'comment-list', 'comment-author', 'comment-text', 'comment-submit']) {
      expect(html).toContain(`data-testid="${hook}"`)
    }

    expect(html).toMatch(/data-testid="live-badge" hidden/)
    expect(html).toContain('data-device="mobile"')
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/\son[a-z]+=/)
    expect(html).toContain('A &lt;b&gt;bold&lt;/b&gt;')
  })

  it('answers 404 for an unknown video and 400 for an unknown player', async () => {
    expect((await fetch(`${base}/watch/nope`)).status).toBe(404)
    expect((await fetch(`${base}/watch/clip?player=flash`)).status).toBe(400)
  })

  it('serves the page\'s scripts and the players\' from the installed packages, compressed and cached for good', async () => {
    const html = await (await fetch(`${base}/watch/clip`)).text()
    const watchScript = /<script type="module" src="([^"]+)"/.exec(html)?.[1] as string
    const hlsScript = /data-hls-script="([^"]+)"/.exec(html)?.[1] as string
    for (const asset of [watchScript, hlsScript]) {
      const response = await fetch(`${base}${asset}`, {headers: {'accept-encoding': 'br'}})
      expect(response.status, asset).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/javascript/)
      expect(response.headers.get('content-encoding')).toBe('br')
      expect(response.headers.get('cache-control')).toContain('immutable')
    }

    expect(await (await fetch(`${base}${hlsScript}`)).text()).toContain('hls.js')
  })
})
