/**
 * Failures of the world around livectl, through the CLI as users meet them: each is a user error
 * (exit 2) or an external one (exit 3) naming the resource and saying what to do, never "a bug in
 * livectl" (exit 70) and never a stack trace; and none hangs the process.
 */
import {execFileSync} from 'node:child_process'
import {readdirSync, readlinkSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import http from 'node:http'
import {createServer, type Server} from 'node:net'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type CliResult, runCli} from '../support/cli.js'
import {makeClip, makeTempDir} from '../support/media.js'
import {freePort, runMotoSuites, startMoto, type MotoServer, useFakeAwsCredentials} from '../support/moto.js'
import {makePackage} from '../support/package.js'
import {openStorage} from '../../src/lib/storage/open.js'

let work: {dir: string; cleanup: () => Promise<void>}
let packageDir: string
let source: string
let taken: Server
let takenPort: number

const AWS = {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1'}

beforeAll(async () => {
  work = await makeTempDir('livectl-faults-boundaries-')
  ;({packageDir} = await makePackage(work.dir))
  source = await makeClip(work.dir, 'source.mp4', {width: 320, height: 180, durationSeconds: 2, audio: 'stereo'})
  // A port something else listens on.
  taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  takenPort = (taken.address() as {port: number}).port
})

afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve))
  await work?.cleanup()
})

/** The run failed with `exitCode`, said `message`, gave a hint, and reported no bug and no stack. */
function expectClassified(result: CliResult, exitCode: 2 | 3, message: RegExp): void {
  expect(result.exitCode, result.stderr).toBe(exitCode)
  expect(result.stderr).toMatch(message)
  expect(result.stderr).not.toMatch(/bug in livectl/)
  expect(result.stderr).not.toMatch(/^\s+at /m)
  // Every such error ends with a hint line: what to do about it.
  expect(result.stderr.trim().split('\n').length).toBeGreaterThan(1)
}

describe.runIf(runMotoSuites)('storage', () => {
  let moto: MotoServer

  beforeAll(async () => {
    moto = await startMoto()
  })

  afterAll(async () => {
    await moto?.stop()
  })

  it('a missing S3 bucket is a user error naming the bucket, also under --json', async () => {
    const dataDir = path.join(work.dir, 'data-s3')
    const result = await runCli(['publish', packageDir, '--to', 's3://no-such-bucket/vod', '--s3-endpoint', moto.endpoint, '--data-dir', dataDir], {env: AWS})
    expectClassified(result, 2, /S3 bucket "no-such-bucket" does not exist/)
    expect(result.stderr).toMatch(/Create it first/)
    const json = await runCli(['publish', packageDir, '--to', 's3://no-such-bucket/vod', '--s3-endpoint', moto.endpoint, '--data-dir', dataDir, '--json'], {env: AWS})
    expect(JSON.parse(json.stdout).error).toMatchObject({kind: 'user', exitCode: 2})
  })
})

describe('connections refused', () => {
  it('an S3 endpoint that refuses connections is an external error naming it', async () => {
    const port = await freePort()
    const result = await runCli(['publish', packageDir, '--to', 's3://bucket/vod', '--s3-endpoint', `http://127.0.0.1:${port}`, '--attempts', '1', '--data-dir', path.join(work.dir, 'data-refused')], {env: AWS})
    expectClassified(result, 3, new RegExp(`Cannot reach S3 at http://127\\.0\\.0\\.1:${port}`))
  })

  it('a WebHDFS NameNode that refuses connections is an external error naming it', async () => {
    const port = await freePort()
    const result = await runCli(['publish', packageDir, '--to', `hdfs://127.0.0.1:${port}/media`, '--attempts', '1', '--data-dir', path.join(work.dir, 'data-hdfs')])
    expectClassified(result, 3, new RegExp(`Cannot reach WebHDFS at 127\\.0\\.0\\.1:${port}`))
  })
})

describe('uploads that fail', () => {
  /** Descriptors this process holds open on files under `dir`. */
  const openUnder = (dir: string) => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)
    } catch {
      return false
    }
  }).length

  // Found by the soak: ingest gained a descriptor for each upload S3 failed, until it ran out.
  for (const answer of ['answers 503 before reading the body', 'resets the connection mid-body'] as const) {
    it(`leave no file open when S3 ${answer}`, async () => {
      useFakeAwsCredentials()
      const server = http.createServer((request, response) => {
        if (answer === 'answers 503 before reading the body') response.writeHead(503, {'content-type': 'application/xml'}).end('<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>')
        else request.once('data', () => request.socket.destroy())
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const dir = path.join(work.dir, `uploads-${answer.split(' ')[0]}`)
      await mkdir(dir)
      try {
        const storage = await openStorage('s3://bucket/live', {s3Endpoint: `http://127.0.0.1:${(server.address() as {port: number}).port}`})
        const files = await Promise.all(Array.from({length: 12}, async (_, index) => {
          const file = path.join(dir, `seg-${index}.m4s`)
          // Small bodies and bodies bigger than a socket buffer.
          await writeFile(file, Buffer.alloc(index % 2 === 0 ? 300 : 400_000, index))
          return file
        }))
        const results = await Promise.allSettled(files.map((file, index) => storage.putFile(`seg-${index}.m4s`, file, {contentType: 'video/mp4', cacheControl: 'no-cache', sha256: '0'.repeat(64), sizeBytes: index % 2 === 0 ? 300 : 400_000})))
        expect(results.every((result) => result.status === 'rejected')).toBe(true)
        expect(openUnder(dir)).toBe(0)
      } finally {
        server.closeAllConnections()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  }
})

describe('ports already taken', () => {
  it('serve on a taken port is a user error naming the port', async () => {
    const result = await runCli(['serve', '--port', String(takenPort), '--data-dir', path.join(work.dir, 'data-serve')])
    expectClassified(result, 2, new RegExp(`API server: 127\\.0\\.0\\.1:${takenPort} is already in use`))
    expect(result.stderr).toMatch(/pick another port with --port/)
  })

  it('ingest on a taken RTMP port is a user error naming it, with nothing from node-media-server on stdout', async () => {
    const result = await runCli(['ingest', '--rtmp-port', String(takenPort), '--data-dir', path.join(work.dir, 'data-ingest'), '--json'])
    expectClassified(result, 2, new RegExp(`RTMP server: 127\\.0\\.0\\.1:${takenPort} is already in use`))
    expect(JSON.parse(result.stdout).error).toMatchObject({kind: 'user', exitCode: 2})
  })

  it('ingest with its metrics port taken is a user error naming it', async () => {
    const result = await runCli(['ingest', '--rtmp-port', String(await freePort()), '--metrics-port', String(takenPort), '--data-dir', path.join(work.dir, 'data-metrics')])
    expectClassified(result, 2, new RegExp(`metrics server: 127\\.0\\.0\\.1:${takenPort} is already in use`))
  })

  it('ingest --low-latency with its origin port taken is a user error naming it', async () => {
    const result = await runCli(['ingest', '--rtmp-port', String(await freePort()), '--low-latency', '--origin-port', String(takenPort), '--data-dir', path.join(work.dir, 'data-origin')])
    expectClassified(result, 2, new RegExp(`low-latency origin: 127\\.0\\.0\\.1:${takenPort} is already in use`))
  })
})

describe('low-latency settings', () => {
  it('a part duration that is not a usable fraction of the segment is a user error', async () => {
    const result = await runCli(['ingest', '--low-latency', '--part-duration', '1.5', '--segment-duration', '2', '--rtmp-port', String(await freePort()), '--data-dir', path.join(work.dir, 'data-part')])
    expectClassified(result, 2, /--part-duration must be a number of seconds from 0\.1 to half the segment duration \(1\); got 1\.5/)
  })

  it('an origin on a wildcard address without --origin-url is a user error: players could not reach it', async () => {
    const result = await runCli(['ingest', '--low-latency', '--host', '0.0.0.0', '--rtmp-port', String(await freePort()), '--origin-port', '0', '--data-dir', path.join(work.dir, 'data-wildcard')])
    expectClassified(result, 2, /players cannot reach an origin at a wildcard address/)
    expect(result.stderr).toMatch(/--origin-url/)
  })
})

describe('paths that cannot be written', () => {
  it('an output folder under /proc is refused at once (Node\'s recursive mkdir would spin there forever)', async () => {
    const result = await runCli(['transcode', source, '-o', '/proc/livectl-nope/out', '--data-dir', path.join(work.dir, 'data-proc')])
    expectClassified(result, 2, /Cannot create the directory \/proc\/livectl-nope/)
  })

  it('an output folder below a file is a user error naming the file', async () => {
    const file = path.join(work.dir, 'a-file')
    await writeFile(file, 'x')
    const result = await runCli(['segment', path.join(work.dir, 'clip-renditions'), '-o', path.join(file, 'pkg'), '--data-dir', path.join(work.dir, 'data-file')])
    expectClassified(result, 2, new RegExp(`${file} is a file`))
  })
})

describe('catalog files', () => {
  it('a file that is not a database is a user error', async () => {
    const notDb = path.join(work.dir, 'not-a-database.db')
    await writeFile(notDb, 'this is text, not SQLite, and long enough to have a header '.repeat(20))
    expectClassified(await runCli(['videos', 'list', '--db', `sqlite:${notDb}`]), 2, /is not an SQLite database/)
  })

  it('a directory is a user error', async () => {
    expectClassified(await runCli(['videos', 'list', '--db', `sqlite:${work.dir}`]), 2, /is not a regular file/)
  })

  it('a FIFO is refused instead of blocking the process forever', async () => {
    const fifo = path.join(work.dir, 'catalog.fifo')
    execFileSync('mkfifo', [fifo])
    expectClassified(await runCli(['videos', 'list', '--db', `sqlite:${fifo}`]), 2, /is not a regular file/)
  })
})
