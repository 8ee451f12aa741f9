/**
 * The whole HTTP API over real HTTP, on both catalog backends: SQLite always, MySQL on the local
 * MariaDB (a failure, not a skip, under CI=true when it is unreachable).
 */
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer, type RunningServer} from '../../src/lib/api/serve.js'
import {registerPackage} from '../../src/lib/catalog/service.js'
import type {PackageManifest} from '../../src/lib/package/manifest.js'
import {makeTempDir} from '../support/media.js'
import {createTestDatabase, runMysqlSuites} from '../support/mysql.js'
import {makePackage} from '../support/package.js'

let work: {dir: string; cleanup: () => Promise<void>}
let packageDir: string
let manifest: PackageManifest

beforeAll(async () => {
  work = await makeTempDir('livectl-api-')
  ;({packageDir, manifest} = await makePackage(work.dir))
  // A file large enough to test ranges on.
  await writeFile(path.join(packageDir, 'big.mp4'), Buffer.alloc(1024 * 1024, 7))
})

afterAll(async () => {
  await work?.cleanup()
})

interface Backend {
  name: string
  enabled: boolean
  setup: () => Promise<{db?: string; dispose: () => Promise<void>}>
}

const backends: Backend[] = [
  {name: 'SQLite', enabled: true, setup: async () => ({db: undefined, dispose: async () => undefined})},
  {
    name: 'MySQL',
    enabled: runMysqlSuites,
    setup: async () => {
      const database = await createTestDatabase()
      return {db: database.url, dispose: database.drop}
    },
  },
]

describe.each(backends.filter((backend) => backend.enabled))('API on $name', (backend) => {
  let server: RunningServer
  let base: string
  let dispose: () => Promise<void>

  const get = (pathname: string, init?: RequestInit) => fetch(`${base}${pathname}`, init)
  const post = (body: unknown, headers: Record<string, string> = {'content-type': 'application/json'}) =>
    fetch(`${base}/comment`, {method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body)})
  const json = async (response: Response) => response.json() as Promise<any> // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    const setup = await backend.setup()
    dispose = setup.dispose
    const dataDir = path.join(work.dir, `data-${backend.name}`)
    await registerPackage({db: setup.db, dataDir, packageDir, id: 'clip', title: 'A clip'})
    await registerPackage({db: setup.db, dataDir, packageDir, id: 'other', title: 'Another'})
    server = await startApiServer({db: setup.db, dataDir, host: '127.0.0.1', port: 0})
    base = server.url
  })

  afterAll(async () => {
    await server?.close()
    await dispose?.()
  })

  describe('GET /video/time', () => {
    it('returns the frames a mobile player needs from the offset, with media and init URLs that work', async () => {
      const response = await get('/video/time?id=clip&device=mobile&offset=2&duration=4')
      expect(response.status).toBe(200)
      const frames = await json(response)
      const video = frames.filter((frame: {type: string}) => frame.type === 'video')
      expect(video.map((frame: {index: number; start: number; rendition: string}) => [frame.index, frame.start, frame.rendition])).toEqual([[1, 2, '360p'], [2, 4, '360p']])
      expect(video[0]).toMatchObject({duration: 2, width: 640, height: 360, codecs: manifest.renditions[0]?.codecs, bandwidth: manifest.renditions[0]?.bandwidth})
      expect(frames.some((frame: {type: string}) => frame.type === 'audio')).toBe(true)
      const segment = await get(new URL(video[0].url).pathname)
      expect(segment.status).toBe(200)
      expect(segment.headers.get('content-type')).toBe('video/iso.segment')
      expect((await get(new URL(video[0].initUrl).pathname)).status).toBe(200)
    })

    it('defaults to the next 30 seconds and lowers the rendition for a small bandwidth hint', async () => {
      const all = await json(await get('/video/time?id=clip&device=desktop'))
      expect(all.filter((frame: {type: string}) => frame.type === 'video')).toHaveLength(3)
      const constrained = await json(await get('/video/time?id=clip&device=desktop&bandwidth=300'))
      expect(constrained.filter((frame: {type: string}) => frame.type === 'video').every((frame: {rendition: string}) => frame.rendition === '144p')).toBe(true)
    })

    it('returns an empty array past the end and counts negative offsets back from the end', async () => {
      expect(await json(await get('/video/time?id=clip&device=tablet&offset=600'))).toEqual([])
      const tail = await json(await get('/video/time?id=clip&device=tablet&offset=-2'))
      expect(tail.filter((frame: {type: string}) => frame.type === 'video').map((frame: {index: number}) => frame.index)).toEqual([2])
    })

    it.each([
      ['/video/time?device=mobile', 400, /must have required property 'id'/],
      ['/video/time?id=clip', 400, /must have required property 'device'/],
      ['/video/time?id=clip&device=fridge', 400, /Unknown device "fridge"/],
      ['/video/time?id=clip&device=mobile&offset=abc', 400, /offset must be number/],
      ['/video/time?id=clip&device=mobile&duration=301', 400, /duration must be <= 300/],
      ['/video/time?id=clip&device=mobile&extra=1', 400, /must NOT have additional properties/],
      [`/video/time?id=${encodeURIComponent('../etc')}&device=mobile`, 400, /id must match pattern/],
      [`/video/time?id=${encodeURIComponent('a/b')}&device=mobile`, 400, /id must match pattern/],
      [`/video/time?id=${encodeURIComponent('has space')}&device=mobile`, 400, /id must match pattern/],
      ['/video/time?id=missing&device=mobile', 404, /Unknown video "missing"/],
    ])('GET %s answers %i with a JSON error', async (url, status, message) => {
      const response = await get(url)
      expect(response.status).toBe(status)
      const body = await json(response)
      expect(body.error).toMatchObject({status})
      expect(body.error.message).toMatch(message)
    })
  })

  describe('POST /comment', () => {
    it('stores a comment and returns it with 201 and the server time', async () => {
      const before = Date.now()
      const response = await post({data: 'First!', author: 'ada', video_id: 'clip'})
      expect(response.status).toBe(201)
      const comment = await json(response)
      expect(comment).toMatchObject({data: 'First!', author: 'ada', video_id: 'clip'})
      expect(comment.id).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]*$/)
      expect(Date.parse(comment.created_at)).toBeGreaterThanOrEqual(before - 1000)
    })

    it('stores unicode and HTML exactly and returns them as JSON', async () => {
      const data = '<script>alert("x")</script> & 日本語 🎉👩🏽‍💻 \u0000 "quotes" \\ back\nslash'
      const posted = await json(await post({id: 'unicode-1', data, author: 'Zoë <b>', video_id: 'clip'}))
      expect(posted.data).toBe(data)
      const page = await json(await get('/video/comments?video_id=clip&limit=200'))
      expect(page.comments.find((comment: {id: string}) => comment.id === 'unicode-1')).toMatchObject({data, author: 'Zoë <b>'})
    })

    it('accepts exactly 5000 characters (emoji count as one) and 100 for the author', async () => {
      expect((await post({data: '🎉'.repeat(5000), author: 'a'.repeat(100), video_id: 'clip'})).status).toBe(201)
    })

    it('returns the first stored comment for a repeated id, never a duplicate', async () => {
      const first = await post({id: 'client-42', data: 'once', author: 'bob', video_id: 'clip'})
      const again = await post({id: 'client-42', data: 'once', author: 'bob', video_id: 'clip'})
      expect(first.status).toBe(201)
      expect(again.status).toBe(200)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(await json(again)).toEqual(await json(first))
      const conflicting = await post({id: 'client-42', data: 'different', author: 'bob', video_id: 'clip'})
      expect(conflicting.status).toBe(409)
    })

    it('loses and duplicates nothing under concurrent posts', async () => {
      const distinct = Array.from({length: 40}, (_, index) => post({id: `burst-${index}`, data: `message ${index}`, author: 'load', video_id: 'other'}))
      const same = Array.from({length: 20}, () => post({id: 'burst-same', data: 'same', author: 'load', video_id: 'other'}))
      const responses = await Promise.all([...distinct, ...same])
      expect(responses.every((response) => response.status === 200 || response.status === 201)).toBe(true)
      const sameBodies = await Promise.all(responses.slice(40).map(json))
      expect(new Set(sameBodies.map((body) => JSON.stringify(body))).size).toBe(1)
      expect(responses.slice(40).filter((response) => response.status === 201)).toHaveLength(1)

      const stored: Array<{id: string}> = []
      let cursor: string | null = null
      do {
        const page = await json(await get(`/video/comments?video_id=other&limit=7${cursor ? `&after=${cursor}` : ''}`))
        stored.push(...page.comments)
        cursor = page.next
      } while (cursor)
      expect(stored).toHaveLength(41)
      expect(new Set(stored.map((comment) => comment.id)).size).toBe(41)
    })

    it.each([
      ['a number for data', {data: 5, author: 'a', video_id: 'clip'}, 400, /data must be string/],
      ['a missing author', {data: 'x', video_id: 'clip'}, 400, /must have required property 'author'/],
      ['empty data', {data: '', author: 'a', video_id: 'clip'}, 400, /data must NOT have fewer than 1 characters/],
      ['5001 characters', {data: 'x'.repeat(5001), author: 'a', video_id: 'clip'}, 400, /data must NOT have more than 5000 characters/],
      ['a 101-character author', {data: 'x', author: 'a'.repeat(101), video_id: 'clip'}, 400, /author must NOT have more than 100/],
      ['an unknown field', {data: 'x', author: 'a', video_id: 'clip', admin: true}, 400, /must NOT have additional properties/],
      ['a video id with ..', {data: 'x', author: 'a', video_id: '../clip'}, 400, /video_id must match pattern/],
      ['an id with a slash', {id: 'a/b', data: 'x', author: 'a', video_id: 'clip'}, 400, /id must match pattern/],
      ['an array body', [1, 2], 400, /body must be object/],
      ['an unknown video', {data: 'x', author: 'a', video_id: 'nope'}, 404, /Unknown video "nope"/],
    ])('rejects %s', async (_name, body, status, message) => {
      const response = await post(body)
      expect(response.status).toBe(status)
      expect((await json(response)).error.message).toMatch(message)
    })

    it('answers 400 for broken JSON, 413 for a huge body and 415 for a body that is not JSON', async () => {
      const broken = await post('{"data": ')
      expect(broken.status).toBe(400)
      expect((await json(broken)).error.code).toBe('bad_request')
      const huge = await post({data: 'x'.repeat(2_000_000), author: 'a', video_id: 'clip'})
      expect(huge.status).toBe(413)
      expect((await json(huge)).error.code).toBe('payload_too_large')
      const text = await post('data=x', {'content-type': 'text/plain'})
      expect(text.status).toBe(415)
      expect((await json(text)).error.code).toBe('unsupported_media_type')
    })
  })

  describe('GET /video/comments', () => {
    it('pages oldest first with a cursor, and rejects a forged cursor', async () => {
      for (const index of [1, 2, 3]) await post({id: `page-${backend.name}-${index}`, data: `p${index}`, author: 'pager', video_id: 'other'})
      const first = await json(await get('/video/comments?video_id=other&limit=40'))
      expect(first.comments).toHaveLength(40)
      const second = await json(await get(`/video/comments?video_id=other&limit=40&after=${first.next}`))
      expect(second.comments.map((comment: {data: string}) => comment.data).slice(-3)).toEqual(['p1', 'p2', 'p3'])
      expect(second.next).toBeNull()
      expect((await get('/video/comments?video_id=other&after=bm9wZQ')).status).toBe(400)
      expect((await get('/video/comments?video_id=nope')).status).toBe(404)
    })
  })

  describe('videos and media', () => {
    it('lists videos and describes one with its HLS and DASH URLs', async () => {
      const list = await json(await get('/videos'))
      expect(list.videos.map((video: {id: string}) => video.id).sort()).toEqual(['clip', 'other'])
      const video = await json(await get('/videos/clip'))
      expect(video).toMatchObject({id: 'clip', title: 'A clip', status: 'ready', hlsUrl: `${base}/media/clip/master.m3u8`, dashUrl: `${base}/media/clip/manifest.mpd`})
      expect(video.renditions.map((rendition: {name: string}) => rendition.name)).toEqual(['360p', '144p'])
      expect(video).not.toHaveProperty('packageLocation')
      expect((await get('/videos/nope')).status).toBe(404)
      expect((await get('/videos/bad%20id')).status).toBe(400)
    })

    it('serves manifests uncached and segments immutable, with the right content types', async () => {
      const master = await get('/media/clip/master.m3u8')
      expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl')
      expect(master.headers.get('cache-control')).toBe('no-cache')
      expect(await master.text()).toContain('#EXT-X-STREAM-INF')
      const mpd = await get('/media/clip/manifest.mpd')
      expect(mpd.headers.get('content-type')).toBe('application/dash+xml')
      const segment = await get(`/media/clip/${manifest.renditions[0]?.segments[0]?.file}`)
      expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(Number(segment.headers.get('content-length'))).toBe(manifest.renditions[0]?.segments[0]?.sizeBytes)
    })

    it('answers byte ranges, HEAD and conditional requests', async () => {
      const partial = await get('/media/clip/big.mp4', {headers: {range: 'bytes=100-199'}})
      expect(partial.status).toBe(206)
      expect(partial.headers.get('content-range')).toBe(`bytes 100-199/${1024 * 1024}`)
      expect((await partial.arrayBuffer()).byteLength).toBe(100)
      expect((await get('/media/clip/big.mp4', {headers: {range: 'bytes=9999999-'}})).status).toBe(416)
      const head = await get('/media/clip/big.mp4', {method: 'HEAD'})
      expect(head.status).toBe(200)
      expect(head.headers.get('content-length')).toBe(String(1024 * 1024))
      const etag = head.headers.get('etag') as string
      expect((await get('/media/clip/big.mp4', {headers: {'if-none-match': etag}})).status).toBe(304)
    })

    it('never serves anything outside the package', async () => {
      for (const url of ['/media/clip/..%2Fclip.mp4', '/media/clip/.hidden', '/media/clip/%2e%2e', '/media/..%2F..%2Fetc/passwd']) {
        const response = await get(url)
        expect([400, 404], url).toContain(response.status)
        expect(response.headers.get('content-type'), url).toMatch(/application\/json/)
      }

      expect((await get('/media/clip/missing.m4s')).status).toBe(404)
    })
  })

  describe('operations', () => {
    it('reports health, Prometheus metrics and an OpenAPI document', async () => {
      expect(await json(await get('/healthz'))).toEqual({status: 'ok', catalog: 'ok'})
      await post({data: 'count me', author: 'metrics', video_id: 'clip'})
      const metrics = await (await get('/metrics')).text()
      expect(metrics).toMatch(/livectl_http_requests_total\{method="POST",route="\/comment",status="201"\} \d+/)
      expect(metrics).toMatch(/livectl_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/video\/time"\} \d+/)
      expect(metrics).toMatch(/livectl_comments_posted_total [1-9]\d*/)
      const openapi = await json(await get('/openapi.json'))
      expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/video/time', '/comment', '/video/comments', '/videos', '/videos/{id}']))
    })

    it('answers unknown routes with a JSON 404', async () => {
      const response = await get('/nope')
      expect(response.status).toBe(404)
      expect(await json(response)).toEqual({error: {status: 404, code: 'not_found', message: 'No route for GET /nope'}})
    })
  })
})
