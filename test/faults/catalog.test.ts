/**
 * Faults of the catalog under a running `serve`: the database dropped and re-created, its tables
 * dropped, on MySQL and SQLite; every answer meanwhile is a 503 in the documented envelope, and
 * the server recovers without a restart. And the errors Fastify and Node's HTTP parser raise
 * before any route keep the same envelope.
 */
import {connect} from 'node:net'
import path from 'node:path'

import {createConnection} from 'mysql2/promise'
import {sql} from 'kysely'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer, type RunningServer} from '../../src/lib/api/serve.js'
import {catalogMigrationStatus, openCatalog} from '../../src/lib/catalog/connection.js'
import {upsertVideo} from '../../src/lib/catalog/videos.js'
import {makeTempDir} from '../support/media.js'
import {createTestDatabase, MYSQL_ADMIN_URL, runMysqlSuites} from '../support/mysql.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-faults-catalog-')
})

afterAll(async () => {
  await work?.cleanup()
})

const TABLES = ['comments', 'stream_keys', 'videos', 'kysely_migration', 'kysely_migration_lock']

/** Every route a player or a page uses answers 503, with Retry-After, in the envelope. */
async function expectUnavailable(base: string): Promise<void> {
  for (const [method, pathname, body] of [
    ['GET', '/videos'],
    ['GET', '/videos/clip'],
    ['GET', '/video/time?id=clip&device=mobile'],
    ['GET', '/video/comments?video_id=clip'],
    ['POST', '/comment', {video_id: 'clip', author: 'a', data: 'while it is gone'}],
  ] as const) {
    const response = await fetch(`${base}${pathname}`, {method, headers: body ? {'content-type': 'application/json'} : {}, body: body ? JSON.stringify(body) : undefined})
    expect(response.status, `${method} ${pathname}`).toBe(503)
    expect(response.headers.get('retry-after')).toBe('5')
    expect(await response.json()).toEqual({error: {status: 503, code: 'unavailable', message: expect.any(String)}})
  }

  expect((await fetch(`${base}/healthz`)).status).toBe(503)
}

/** The first request to notice the tables are gone gets a 503 (and starts the repair, which may be done by the next one). */
async function expectFirstUnavailable(base: string): Promise<void> {
  const response = await fetch(`${base}/videos`)
  expect(response.status).toBe(503)
  expect(response.headers.get('retry-after')).toBe('5')
  expect((await response.json()).error).toMatchObject({status: 503, code: 'unavailable'})
}

/** Healthy again, and the repair's migrations all done (the next test drops tables again). */
async function expectRecovered(base: string, db: {url?: string; dataDir: string}): Promise<void> {
  await waitFor(async () => (await fetch(`${base}/healthz`)).status === 200, {what: 'the catalog to be repaired', timeoutMs: 30_000})
  expect((await fetch(`${base}/videos`)).status).toBe(200)
  const catalog = await openCatalog({url: db.url, dataDir: db.dataDir, migrate: false})
  try {
    await waitFor(async () => (await catalogMigrationStatus(catalog)).pending.length === 0, {what: 'every migration to be applied again'})
  } finally {
    await catalog.close()
  }
}

describe.runIf(runMysqlSuites)('a MySQL catalog that goes away under serve', () => {
  let database: {url: string; drop: () => Promise<void>}
  let server: RunningServer
  let name: string
  let dataDir: string

  const admin = async (statement: string) => {
    const connection = await createConnection({uri: MYSQL_ADMIN_URL})
    try {
      await connection.query(statement)
    } finally {
      await connection.end()
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase()
    name = new URL(database.url).pathname.slice(1)
    dataDir = path.join(work.dir, 'mysql')
    const catalog = await openCatalog({url: database.url, dataDir})
    await upsertVideo(catalog, {id: 'clip', title: 'Clip', status: 'ready', packageLocation: '/nowhere'})
    await catalog.close()
    server = await startApiServer({db: database.url, dataDir, host: '127.0.0.1', port: 0})
  })

  afterAll(async () => {
    await server?.close()
    await database?.drop()
  })

  it('answers 503 while the database is dropped, and recovers once it is created again, migrating it', async () => {
    await admin(`DROP DATABASE \`${name}\``)
    await expectUnavailable(server.url)
    await admin(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    await expectRecovered(server.url, {url: database.url, dataDir})
    // The schema is back, empty: the API works again, writes included.
    expect((await (await fetch(`${server.url}/videos`)).json()).videos).toEqual([])
  })

  it('answers 503 while the tables are gone, and recovers by migrating again', async () => {
    for (const table of TABLES) await admin(`DROP TABLE IF EXISTS \`${name}\`.\`${table}\``)
    await expectFirstUnavailable(server.url)
    await expectRecovered(server.url, {url: database.url, dataDir})
  })
})

describe('an SQLite catalog whose tables are dropped under serve', () => {
  it('answers 503, then recovers by migrating again', async () => {
    const dataDir = path.join(work.dir, 'sqlite')
    const catalog = await openCatalog({dataDir})
    await upsertVideo(catalog, {id: 'clip', title: 'Clip', status: 'ready', packageLocation: '/nowhere'})
    const server = await startApiServer({dataDir, host: '127.0.0.1', port: 0})
    try {
      expect((await fetch(`${server.url}/videos`)).status).toBe(200)
      for (const table of TABLES) await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(catalog.db)
      await expectFirstUnavailable(server.url)
      await expectRecovered(server.url, {dataDir})
    } finally {
      await server.close()
      await catalog.close()
    }
  })
})

describe('errors before any route', () => {
  let server: RunningServer

  beforeAll(async () => {
    server = await startApiServer({dataDir: path.join(work.dir, 'raw'), host: '127.0.0.1', port: 0})
  })

  afterAll(async () => {
    await server?.close()
  })

  /** Sends bytes as they are (fetch would refuse to send them) and returns the status line and body. */
  async function raw(request: string): Promise<{status: number; contentType?: string; body: string}> {
    const {hostname, port} = new URL(server.url)
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.end(request))
      let received = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk) => (received += chunk))
      socket.on('close', () => resolve(received))
      socket.on('error', reject)
    })
    const [head = '', body = ''] = text.split('\r\n\r\n')
    return {status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1], body}
  }

  it('answers a malformed URL with a 400 in the envelope', async () => {
    const response = await raw('GET /watch/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(response.status).toBe(400)
    expect(JSON.parse(response.body)).toEqual({error: {status: 400, code: 'bad_request', message: expect.any(String)}})
  })

  it('answers oversized headers with a 431 in the envelope', async () => {
    const response = await raw(`GET /videos HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\nConnection: close\r\n\r\n`)
    expect(response.status).toBe(431)
    expect(response.contentType).toMatch(/^application\/json/)
    expect(JSON.parse(response.body)).toEqual({error: {status: 431, code: 'headers_too_large', message: expect.any(String)}})
  })

  it('answers a request that is not HTTP with a 400 in the envelope', async () => {
    const response = await raw('HELLO THERE\r\n\r\n')
    expect(response.status).toBe(400)
    expect(JSON.parse(response.body).error.status).toBe(400)
  })
})
