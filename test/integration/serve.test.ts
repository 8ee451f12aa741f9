/**
 * `livectl serve` as a process, and the catalog commands through the CLI: registration, comments
 * locally and through --api, clean shutdown with requests in flight, a database that goes away and
 * comes back.
 */
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startApiServer} from '../../src/lib/api/serve.js'
import {registerPackage} from '../../src/lib/catalog/service.js'
import {runCli, startCli, type CliRun} from '../support/cli.js'
import {makeTempDir} from '../support/media.js'
import {createTestDatabase, runMysqlSuites} from '../support/mysql.js'
import {makePackage} from '../support/package.js'
import {startTcpProxy} from '../support/tcp-proxy.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}
let packageDir: string
let dataDir: string

beforeAll(async () => {
  work = await makeTempDir('livectl-serve-')
  ;({packageDir} = await makePackage(work.dir))
  dataDir = path.join(work.dir, 'data')
  // Every test can rely on video "talk"; the first test registers it again through the CLI.
  await registerPackage({dataDir, packageDir, id: 'talk', title: 'The talk'})
})

afterAll(async () => {
  await work?.cleanup()
})

async function startServe(args: string[] = []): Promise<{run: CliRun; url: string}> {
  let stderr = ''
  const run = startCli(['serve', '--port', '0', '--data-dir', dataDir, ...args])
  run.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  try {
    await waitFor(() => /listening on (http:\/\/\S+)/.test(stderr) || run.child.exitCode !== null, {what: 'the server to listen'})
  } finally {
    if (!/listening on/.test(stderr)) run.child.kill('SIGKILL')
  }

  const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1]
  if (!url) throw new Error(`serve did not start: ${stderr}`)
  return {run, url}
}

describe('catalog commands', () => {
  it('videos add registers a package; list and show describe it', async () => {
    const added = await runCli(['videos', 'add', packageDir, '--id', 'talk', '--title', 'The talk', '--data-dir', dataDir, '--json'])
    expect(added.exitCode).toBe(0)
    expect(JSON.parse(added.stdout)).toMatchObject({id: 'talk', title: 'The talk', status: 'ready', packageLocation: packageDir})

    const list = JSON.parse((await runCli(['videos', 'list', '--data-dir', dataDir, '--json'])).stdout)
    expect(list.videos.map((video: {id: string}) => video.id)).toEqual(['talk'])
    const show = JSON.parse((await runCli(['videos', 'show', 'talk', '--data-dir', dataDir, '--json'])).stdout)
    expect(show.renditions.map((rendition: {name: string}) => rendition.name)).toEqual(['360p', '144p'])
    expect(show.audio.codecs).toBe('mp4a.40.2')
  })

  it('refuses a directory that is not a package, and ids that could escape a path', async () => {
    const notPackage = await runCli(['videos', 'add', work.dir, '--data-dir', dataDir])
    expect(notPackage.exitCode).toBe(2)
    expect(notPackage.stderr).toMatch(/is not a livectl package/)
    const badId = await runCli(['videos', 'add', packageDir, '--id', '../../etc', '--data-dir', dataDir])
    expect(badId.exitCode).toBe(2)
    expect(badId.stderr).toMatch(/Invalid video id "..\/..\/etc"/)
    const missing = await runCli(['videos', 'show', 'nope', '--data-dir', dataDir])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toMatch(/Unknown video "nope"/)
  })

  it('db migrate and db status report the applied migrations', async () => {
    const migrate = JSON.parse((await runCli(['db', 'migrate', '--data-dir', dataDir, '--json'])).stdout)
    expect(migrate).toMatchObject({dialect: 'sqlite', pending: [], applied: []})
    const status = JSON.parse((await runCli(['db', 'status', '--data-dir', dataDir, '--json'])).stdout)
    expect(status.migrations.map((migration: {name: string}) => migration.name)).toEqual(['0001_initial', '0002_comment_media_time', '0003_live_ownership', '0004_live_origin', '0005_job_progress'])
    expect(status.migrations[0].executedAt).toMatch(/^\d{4}-/)
  })

  it('comment posts to and lists from the local catalog, idempotently with --id', async () => {
    const posted = await runCli(['comment', 'talk', 'Nice <b>one</b> 👍', '--author', 'ada', '--id', 'c-1', '--data-dir', dataDir, '--json'])
    expect(posted.exitCode).toBe(0)
    expect(JSON.parse(posted.stdout)).toMatchObject({id: 'c-1', data: 'Nice <b>one</b> 👍', author: 'ada', video_id: 'talk'})
    const again = await runCli(['comment', 'talk', 'Nice <b>one</b> 👍', '--author', 'ada', '--id', 'c-1', '--data-dir', dataDir])
    expect(again.stdout).toMatch(/already posted; nothing changed/)
    const listed = JSON.parse((await runCli(['comment', 'talk', '--list', '--data-dir', dataDir, '--json'])).stdout)
    expect(listed.comments.map((comment: {id: string}) => comment.id)).toEqual(['c-1'])
  })

  it.each([
    [['comment', 'talk', 'x'], /--author is required/],
    [['comment', 'talk'], /Nothing to post/],
    [['comment', 'nope', 'x', '--author', 'a'], /Unknown video "nope"/],
    [['comment', 'talk', '', '--author', 'a'], /data must be 1 to 5000/],
    [['comment', 'talk', 'x', '--author', 'a', '--at', 'soon'], /--at must be a number of seconds/],
  ])('comment %j fails with a clear message and exit code 2', async (args, message) => {
    const result = await runCli([...args, '--data-dir', dataDir])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(message)
  })
})

describe('serve', () => {
  it('serves the catalog over HTTP, and `comment --api` talks to it', async () => {
    const {run, url} = await startServe()
    try {
      const posted = await runCli(['comment', 'talk', 'via the API', '--author', 'bob', '--at', '3.5', '--api', url, '--json'])
      expect(posted.exitCode).toBe(0)
      expect(JSON.parse(posted.stdout)).toMatchObject({data: 'via the API', author: 'bob', at: 3.5})
      const listed = JSON.parse((await runCli(['comment', 'talk', '--list', '--api', url, '--json'])).stdout)
      expect(listed.comments.map((comment: {data: string}) => comment.data)).toContain('via the API')
      const rejected = await runCli(['comment', 'nope', 'x', '--author', 'a', '--api', url])
      expect(rejected.exitCode).toBe(2)
      expect(rejected.stderr).toMatch(/Unknown video "nope"/)
    } finally {
      run.child.kill('SIGTERM')
      await run.done
    }

    const unreachable = await runCli(['comment', 'talk', '--list', '--api', url])
    expect(unreachable.exitCode).toBe(3)
    expect(unreachable.stderr).toMatch(/Cannot reach the livectl API/)
  })

  it('finishes a download in flight when stopped, then exits 0 (also as serve-api)', async () => {
    const size = 8 * 1024 * 1024
    await writeFile(path.join(packageDir, 'large.mp4'), Buffer.alloc(size, 1))
    const {run, url} = await startServe(['--json'])
    const response = await fetch(`${url}/media/talk/large.mp4`)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    let received = (await reader.read()).value?.byteLength ?? 0
    run.child.kill('SIGTERM')
    for (;;) {
      const {done, value} = await reader.read()
      if (done) break
      received += value.byteLength
    }

    const result = await run.done
    expect(received).toBe(size)
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({url, stoppedBy: 'Received SIGTERM'})
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()

    const alias = await runCli(['serve-api', '--help'])
    expect(alias.stdout).toContain('Run the HTTP API')
  })
})

describe('serve shutdown', () => {
  it('does not wait forever for a client that stopped reading', async () => {
    const server = await startApiServer({dataDir, host: '127.0.0.1', port: 0, shutdownTimeoutMs: 200})
    const stalled = await fetch(`${server.url}/media/talk/large.mp4`)
    expect(stalled.status).toBe(200)
    // The body is never read: the response stays in flight.
    await server.close()
    await expect(stalled.arrayBuffer()).rejects.toThrow()
  })
})

describe.runIf(runMysqlSuites)('serve when MySQL goes away', () => {
  it('answers 503 while the database is down and recovers when it returns', async () => {
    const database = await createTestDatabase()
    const proxy = await startTcpProxy('127.0.0.1', Number(new URL(database.url).port || 3306))
    const viaProxy = new URL(database.url)
    viaProxy.port = String(proxy.port)
    await registerPackage({db: viaProxy.toString(), dataDir, packageDir, id: 'talk'})
    const server = await startApiServer({db: viaProxy.toString(), dataDir, host: '127.0.0.1', port: 0})
    const postComment = () => fetch(`${server.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({data: 'x', author: 'a', video_id: 'talk'})})
    try {
      expect((await postComment()).status).toBe(201)
      await proxy.cut()
      const down = await postComment()
      expect(down.status).toBe(503)
      expect(down.headers.get('retry-after')).toBe('5')
      expect(await down.json()).toMatchObject({error: {status: 503, code: 'unavailable'}})
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503)
      await proxy.restore()
      await waitFor(async () => (await postComment()).status === 201, {what: 'the API to recover'})
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    } finally {
      await server.close()
      await proxy.close()
      await database.drop()
    }
  })
})
