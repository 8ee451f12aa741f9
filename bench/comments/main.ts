/**
 * Comment delivery: the time from `POST /comment` to the event arriving on each of 1,000 open
 * `GET /video/comments/stream` connections, and the server's memory per open stream.
 *
 * Contenders, in alternating rounds with the same load:
 *   (a) `livectl serve` on SQLite: streams and posts on one server (a comment stored by this
 *       process wakes its feed at once);
 *   (b) two `livectl serve` replicas on one MySQL database: streams on one, posts to the other
 *       (the stream's replica finds the comment by polling the catalog every 100 ms);
 *   (c) the ceiling: bench/comments/sse-ceiling.mjs, plain node:http that writes the event to every
 *       stream as the POST arrives, with no database, validation or framework.
 * The listeners are separate processes (bench/comments/listeners.mjs, 2 x 500 streams) that record
 * when each event arrived; the poster records when it sent each POST; both read the same clock.
 *
 *   npm run bench:comments       builds, then runs the defaults
 *   npx tsx bench/comments/main.ts [--streams 1000] [--comments 60] [--interval-ms 150] [--rounds 3]
 *
 * Writes the `## Comment delivery` section of BENCHMARKS.md.
 */
import {type ChildProcessByStdio, spawn} from 'node:child_process'
import {mkdir, rm} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import type {Readable, Writable} from 'node:stream'
import {setTimeout as sleep} from 'node:timers/promises'
import {URL} from 'node:url'
import {parseArgs} from 'node:util'

import {openCatalog} from '../../src/lib/catalog/connection.js'
import {upsertVideo} from '../../src/lib/catalog/videos.js'
import {freePort, httpRequest} from '../support/net.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {processCpuSeconds, readMemoryKib} from '../support/proc.js'
import {loadAverage, machineFacts, messageOf, writeSection} from '../support/report.js'
import {environmentWithout, type RunningServer, startServerProcess} from '../support/spawn.js'
import {percentile} from '../support/stats.js'
import {type CommentsOptions, type Contender, LISTENER_PROCESSES, render, type RoundResult} from './report.js'

const WORK_DIR = path.join('.bench-work', 'comments')
const MYSQL_ADMIN_URL = process.env.LIVECTL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'

/** What one listener process reports. */
interface ListenerReport {
  arrivals: Record<string, number[]>
  errors: number
  repeated: number
  open: number
}

function parseOptions(): CommentsOptions {
  const {values} = parseArgs({
    options: {
      streams: {type: 'string', default: '1000'},
      comments: {type: 'string', default: '60'},
      'interval-ms': {type: 'string', default: '150'},
      rounds: {type: 'string', default: '3'},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write('Usage: npx tsx bench/comments/main.ts [--streams 1000] [--comments 60] [--interval-ms 150] [--rounds 3]\n')
    process.exit(0)
  }

  return {streams: Number(values.streams), comments: Number(values.comments), intervalMs: Number(values['interval-ms']), rounds: Number(values.rounds)}
}

const epochMs = () => performance.timeOrigin + performance.now()

const rssKib = (pid: number) => readMemoryKib(pid)?.rssKib ?? 0

/** The listener processes; resolves once every stream is open. */
async function startListeners(url: string, streams: number): Promise<{count: number; report(): Promise<ListenerReport[]>}> {
  const perProcess = Math.ceil(streams / LISTENER_PROCESSES)
  const listeners: Array<{child: ChildProcessByStdio<Writable, Readable, null>; output(): string}> = []
  for (let index = 0; index < LISTENER_PROCESSES; index++) {
    const child = spawn(process.execPath, ['bench/comments/listeners.mjs', url, String(perProcess)], {cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit']})
    let output = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => (output += chunk))
    listeners.push({child, output: () => output})
  }

  const deadline = Date.now() + 60_000
  while (!listeners.every((listener) => /^ready /m.test(listener.output()))) {
    if (Date.now() > deadline) throw new Error(`the streams did not all open within 60 s: ${listeners.map((listener) => listener.output().trim()).join(' | ')}`)
    await sleep(20)
  }

  return {
    count: perProcess * LISTENER_PROCESSES,
    report: async () => {
      const reports: ListenerReport[] = []
      for (const listener of listeners) {
        const closed = new Promise((resolve) => listener.child.on('close', resolve))
        listener.child.stdin.write('report\n')
        await closed
        const line = listener.output().split('\n').find((candidate) => candidate.startsWith('{'))
        reports.push(JSON.parse(line ?? '') as ListenerReport)
      }

      return reports
    },
  }
}

async function createMysqlDatabase(): Promise<{url: string; drop(): Promise<void>}> {
  const {createConnection} = await import('mysql2/promise')
  const name = `livectl_bench_${process.pid}`
  const admin = await createConnection({uri: MYSQL_ADMIN_URL, connectTimeout: 3000})
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
  await admin.end()
  const url = new URL(MYSQL_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const connection = await createConnection({uri: MYSQL_ADMIN_URL})
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await connection.end()
    },
  }
}

async function registerVideo({dataDir, db}: {dataDir: string; db?: string}): Promise<void> {
  const catalog = await openCatalog({url: db, dataDir})
  try {
    await upsertVideo(catalog, {id: 'bench', title: 'Comment delivery', status: 'live', packageLocation: path.join(dataDir, 'none')})
  } finally {
    await catalog.close()
  }
}

async function startServe(env: NodeJS.ProcessEnv, {dataDir, db}: {dataDir: string; db?: string}): Promise<RunningServer> {
  const port = await freePort()
  // One poster sends every comment: no per-client limit here.
  const args = ['bin/run.js', 'serve', '--data-dir', dataDir, '--port', String(port), '--log-level', 'silent', '--comment-rate-limit', '0', ...(db ? ['--db', db] : [])]
  return startServerProcess(process.execPath, args, {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /listening on (http:\/\/\S+)/})
}

/** One round of one contender: open the streams, post the comments one by one, collect the arrivals. */
async function runRound(contender: Contender, options: CommentsOptions): Promise<Omit<RoundResult, 'round'>> {
  const servers = await contender.start()
  try {
    const streamServer = servers.at(-1)
    const postServer = servers[0]
    if (!streamServer || !postServer) throw new Error(`${contender.id} started no server`)
    // Warm-up: a few posts and a stream, so code paths are compiled and pools are open.
    for (let index = 0; index < 5; index++) await httpRequest(`${postServer.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'bench', author: 'warm', data: `warm-up ${index}`})})
    const pids = servers.map((server) => server.child.pid ?? 0)
    const streamPid = streamServer.child.pid ?? 0
    const rssBefore = rssKib(streamPid)
    const listeners = await startListeners(`${streamServer.url}/video/comments/stream?video_id=bench`, options.streams)
    const rssAfter = rssKib(streamPid)
    const cpuBefore = pids.map((pid) => processCpuSeconds(pid) ?? 0)
    const sent = new Map<string, number>()
    const startedAt = epochMs()
    for (let index = 0; index < options.comments; index++) {
      const target = startedAt + index * options.intervalMs
      const wait = target - epochMs()
      if (wait > 0) await sleep(wait)
      const sentAt = epochMs()
      const {status, body} = await httpRequest(`${postServer.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'bench', author: 'bench', data: `comment ${index}`})})
      if (status !== 201) throw new Error(`POST /comment answered ${status}: ${body}`)
      sent.set((JSON.parse(body) as {cursor: string}).cursor, sentAt)
    }

    // Until every stream has every comment, or 5 s after the last post.
    const lastPost = epochMs()
    const cpuAfter = pids.map((pid) => processCpuSeconds(pid) ?? 0)
    await sleep(Math.max(0, 500 - (epochMs() - lastPost)))
    const reports = await listeners.report()
    const latencies: number[] = []
    let missing = 0
    for (const [cursor, sentAt] of sent) {
      let arrived = 0
      for (const report of reports) {
        for (const at of report.arrivals[cursor] ?? []) {
          latencies.push(at - sentAt)
          arrived++
        }
      }

      missing += Math.max(0, listeners.count - arrived)
    }

    return {
      contender: contender.id,
      streams: listeners.count,
      comments: sent.size,
      samples: latencies.length,
      missing,
      errors: reports.reduce((sum, report) => sum + report.errors, 0),
      repeated: reports.reduce((sum, report) => sum + report.repeated, 0),
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: Math.max(...latencies),
      rssBeforeMb: rssBefore / 1024,
      rssAfterMb: rssAfter / 1024,
      kibPerStream: (rssAfter - rssBefore) / listeners.count,
      cpuSeconds: cpuAfter.reduce((sum, value, index) => sum + value - (cpuBefore[index] ?? 0), 0),
      postSeconds: (lastPost - startedAt) / 1000,
    }
  } finally {
    for (const server of servers) await server.stop()
  }
}

async function main(): Promise<void> {
  const options = parseOptions()
  const env = environmentWithout('LIVECTL_')
  await rm(path.join(REPO_ROOT, WORK_DIR), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, WORK_DIR), {recursive: true})
  const sqliteDir = path.join(REPO_ROOT, WORK_DIR, 'sqlite')
  await registerVideo({dataDir: sqliteDir})
  const notes: string[] = []
  let mysql: Awaited<ReturnType<typeof createMysqlDatabase>> | undefined
  try {
    mysql = await createMysqlDatabase()
    await registerVideo({dataDir: path.join(REPO_ROOT, WORK_DIR, 'mysql'), db: mysql.url})
  } catch (error) {
    notes.push(`The MySQL contender did not run: ${messageOf(error)}`)
    mysql = undefined
  }

  const database = mysql
  const contenders: Contender[] = [
    {id: 'livectl', label: '(a) `livectl serve`, SQLite, one server', start: async () => [await startServe(env, {dataDir: sqliteDir})]},
    ...(database
      ? [{
          id: 'replicas', label: '(b) two `livectl serve` replicas, MySQL, posted to the other one',
          start: async () => {
            const dataDir = path.join(REPO_ROOT, WORK_DIR, 'mysql')
            return [await startServe(env, {dataDir, db: database.url}), await startServe(env, {dataDir, db: database.url})]
          },
        }]
      : []),
    {
      id: 'ceiling', label: '(c) ceiling: plain node:http fan-out, no database',
      start: async () => [await startServerProcess(process.execPath, ['bench/comments/sse-ceiling.mjs', String(await freePort())], {cwd: REPO_ROOT, env, stream: 'stdout', pattern: /listening on (http:\/\/\S+)/})],
    },
  ]

  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const rounds: RoundResult[] = []
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const contender of contenders) {
        process.stdout.write(`round ${round} ${contender.id} ...`)
        const result = await runRound(contender, options)
        rounds.push({round, ...result})
        process.stdout.write(` p50 ${(result.p50 ?? Number.NaN).toFixed(1)} ms, p99 ${(result.p99 ?? Number.NaN).toFixed(1)} ms, max ${result.max.toFixed(1)} ms, ${result.missing} lost, ${result.repeated} twice, ${result.kibPerStream.toFixed(1)} KiB/stream\n`)
      }
    }
  } finally {
    await mysql?.drop()
  }

  const section = render({options, startedAt, loadAtStart, loadAtEnd: loadAverage(), machine: machineFacts(), contenders, rounds, notes})
  process.stdout.write(`\n${section}\n`)
  await writeSection(BENCHMARKS_FILE, section)
  process.stdout.write('Wrote the "## Comment delivery" section of BENCHMARKS.md\n')
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/comments: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
