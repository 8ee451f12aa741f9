/** Security basics: comment posting is rate limited per client, answers say nosniff, stream keys compare in constant time. */
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer, type RunningServer} from '../../src/lib/api/serve.js'
import {openCatalog} from '../../src/lib/catalog/connection.js'
import {upsertVideo} from '../../src/lib/catalog/videos.js'
import {findActiveKey, hashStreamKey} from '../../src/lib/ingest/keys.js'
import {makeTempDir} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}
let server: RunningServer

beforeAll(async () => {
  work = await makeTempDir('livectl-security-')
  const dataDir = path.join(work.dir, 'data')
  const catalog = await openCatalog({dataDir})
  await upsertVideo(catalog, {id: 'clip', title: 'Clip', status: 'ready', packageLocation: '/nowhere'})
  await catalog.close()
  server = await startApiServer({dataDir, host: '127.0.0.1', port: 0, commentsPerMinute: 3})
})

afterAll(async () => {
  await server?.close()
  await work?.cleanup()
})

const post = (data: string) => fetch(`${server.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'clip', author: 'flood', data})})

describe('comment rate limit', () => {
  it('answers 429 with Retry-After in the envelope once a client passes its limit, and reads stay open', async () => {
    for (const data of ['one', 'two', 'three']) expect((await post(data)).status).toBe(201)
    const limited = await post('four')
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await limited.json()).toEqual({error: {status: 429, code: 'too_many_requests', message: expect.stringMatching(/at most 3 per 1 minute/)}})
    expect((await fetch(`${server.url}/video/comments?video_id=clip`)).status).toBe(200)
    const comments = (await (await fetch(`${server.url}/video/comments?video_id=clip`)).json()) as {comments: Array<{data: string}>}
    expect(comments.comments.map((comment) => comment.data)).toEqual(['one', 'two', 'three'])
  })
})

describe('headers', () => {
  it('tells browsers not to guess content types, on JSON and errors alike', async () => {
    for (const pathname of ['/videos', '/videos/nope', '/healthz']) {
      expect((await fetch(`${server.url}${pathname}`)).headers.get('x-content-type-options'), pathname).toBe('nosniff')
    }
  })
})

describe('stream keys', () => {
  it('finds the active key a push used, and no other', () => {
    const keys = new Map([[hashStreamKey('secret-a'), {id: '1', name: 'a'}], [hashStreamKey('secret-b'), {id: '2', name: 'b'}]])
    expect(findActiveKey(keys, 'secret-b')).toEqual({id: '2', name: 'b'})
    expect(findActiveKey(keys, 'secret-c')).toBeUndefined()
    expect(findActiveKey(new Map(), 'secret-a')).toBeUndefined()
  })
})
