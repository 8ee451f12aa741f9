/**
 * Comment delivery: the time from `POST /comment` to the event arriving on each of 1,000 open
 * `GET /video/comments/stream` connections, and the server's memory per open stream.
 *
 * Contenders, in alternating rounds with the same load:
 *   (a) `livectl serve` on SQLite: streams and posts on one server (a comment stored by this
 *       process wakes its feed at once);
 *   (b) two `livectl serve` replicas on one MySQL database: streams on one, posts to the other
 *       (the stream's replica finds the comment by polling the catalog every 100 ms);
 *   (c) the ceiling: bench/sse-ceiling.mjs, plain node:http that writes the event to every
 *       stream as the POST arrives, with no database, validation or framework.
 * The listeners are separate processes (bench/comment-listeners.mjs, 2 x 500 streams) that record
 * when each event arrived; the poster records when it sent each POST; both read the same clock.
 *
 *   npm run bench:comments       builds, then runs the defaults
 *   node bench/comments.mjs [--streams 1000] [--comments 60] [--interval-ms 150] [--rounds 3]
 *
 * Writes the `## Comment delivery` section of BENCHMARKS.md. Plain ESM.
 */
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdir, rm} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'
import {URL} from 'node:url'
import {parseArgs} from 'node:util'

import {importDist, percentile, REPO_ROOT} from './live-clip.mjs'
import {environmentWithout, freePort, httpRequest, loadAverage, machineFacts, median, processCpuSeconds, startServerProcess, writeSection} from './support.mjs'

const WORK_DIR = path.join('.bench-work', 'comments')
const LISTENER_PROCESSES = 2
const MYSQL_ADMIN_URL = process.env.LIVECTL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test'

function parseOptions() {
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
    process.stdout.write('Usage: node bench/comments.mjs [--streams 1000] [--comments 60] [--interval-ms 150] [--rounds 3]\n')
    process.exit(0)
  }

  return {streams: Number(values.streams), comments: Number(values.comments), intervalMs: Number(values['interval-ms']), rounds: Number(values.rounds)}
}

const epochMs = () => performance.timeOrigin + performance.now()

function rssKib(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** The listener processes; resolves once every stream is open. */
async function startListeners(url, streams) {
  const perProcess = Math.ceil(streams / LISTENER_PROCESSES)
  const listeners = []
  for (let index = 0; index < LISTENER_PROCESSES; index++) {
    const child = spawn(process.execPath, ['bench/comment-listeners.mjs', url, String(perProcess)], {cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit']})
    let output = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => (output += chunk))
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
      const reports = []
      for (const listener of listeners) {
        const closed = new Promise((resolve) => listener.child.on('close', resolve))
        listener.child.stdin.write('report\n')
        await closed
        const line = listener.output().split('\n').find((candidate) => candidate.startsWith('{'))
        reports.push(JSON.parse(line))
      }

      return reports
    },
  }
}

async function createMysqlDatabase() {
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

async function registerVideo({dataDir, db}) {
  const {openCatalog} = await importDist('lib/catalog/connection.js')
  const {upsertVideo} = await importDist('lib/catalog/videos.js')
  const catalog = await openCatalog({url: db, dataDir})
  try {
    await upsertVideo(catalog, {id: 'bench', title: 'Comment delivery', status: 'live', packageLocation: path.join(dataDir, 'none')})
  } finally {
    await catalog.close()
  }
}

async function startServe(env, {dataDir, db}) {
  const port = await freePort()
  // One poster sends every comment: no per-client limit here.
  const args = ['bin/run.js', 'serve', '--data-dir', dataDir, '--port', String(port), '--log-level', 'silent', '--comment-rate-limit', '0', ...(db ? ['--db', db] : [])]
  return startServerProcess(process.execPath, args, {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /listening on (http:\/\/\S+)/})
}

/** One round of one contender: open the streams, post the comments one by one, collect the arrivals. */
async function runRound(contender, options) {
  const servers = await contender.start()
  try {
    const streamServer = servers.at(-1)
    const postServer = servers[0]
    // Warm-up: a few posts and a stream, so code paths are compiled and pools are open.
    for (let index = 0; index < 5; index++) await httpRequest(`${postServer.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'bench', author: 'warm', data: `warm-up ${index}`})})
    const pids = servers.map((server) => server.child.pid)
    const rssBefore = rssKib(streamServer.child.pid)
    const listeners = await startListeners(`${streamServer.url}/video/comments/stream?video_id=bench`, options.streams)
    const rssAfter = rssKib(streamServer.child.pid)
    const cpuBefore = pids.map((pid) => processCpuSeconds(pid) ?? 0)
    const sent = new Map()
    const startedAt = epochMs()
    for (let index = 0; index < options.comments; index++) {
      const target = startedAt + index * options.intervalMs
      const wait = target - epochMs()
      if (wait > 0) await sleep(wait)
      const sentAt = epochMs()
      const {status, body} = await httpRequest(`${postServer.url}/comment`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({video_id: 'bench', author: 'bench', data: `comment ${index}`})})
      if (status !== 201) throw new Error(`POST /comment answered ${status}: ${body}`)
      sent.set(JSON.parse(body).cursor, sentAt)
    }

    // Until every stream has every comment, or 5 s after the last post.
    const lastPost = epochMs()
    const cpuAfter = pids.map((pid) => processCpuSeconds(pid) ?? 0)
    await sleep(Math.max(0, 500 - (epochMs() - lastPost)))
    const reports = await listeners.report()
    const latencies = []
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
      cpuSeconds: cpuAfter.reduce((sum, value, index) => sum + value - cpuBefore[index], 0),
      postSeconds: (lastPost - startedAt) / 1000,
    }
  } finally {
    for (const server of servers) await server.stop()
  }
}

function render(report) {
  const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))
  const byContender = (id) => report.rounds.filter((round) => round.contender === id)
  const summary = (id) => {
    const rounds = byContender(id)
    if (rounds.length === 0) return undefined
    return {
      p50: median(rounds.map((round) => round.p50)),
      p99: median(rounds.map((round) => round.p99)),
      p99Max: Math.max(...rounds.map((round) => round.p99)),
      max: Math.max(...rounds.map((round) => round.max)),
      kib: median(rounds.map((round) => round.kibPerStream)),
      missing: rounds.reduce((sum, round) => sum + round.missing, 0),
      repeated: rounds.reduce((sum, round) => sum + round.repeated, 0),
      samples: rounds.reduce((sum, round) => sum + round.samples, 0),
      cpu: median(rounds.map((round) => round.cpuSeconds / round.postSeconds)),
    }
  }

  const rows = report.contenders.map((contender) => ({contender, summary: summary(contender.id)})).filter((row) => row.summary)
  const livectl = summary('livectl')
  const ceiling = summary('ceiling')
  const lines = [
    '## Comment delivery',
    '',
    `Measured ${report.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} with \`node bench/comments.mjs --streams ${report.options.streams} --comments ${report.options.comments} --interval-ms ${report.options.intervalMs} --rounds ${report.options.rounds}\` (\`npm run bench:comments\` builds first and runs the defaults).`,
    '',
    `- Machine: ${report.machine.cores} cores (nproc), ${report.machine.cpuModel}, ${report.machine.memoryGib.toFixed(1)} GiB RAM, ${report.machine.kernel}; Node ${report.machine.node}. Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- Load: ${report.options.streams} open \`GET /video/comments/stream?video_id=bench\` connections from ${LISTENER_PROCESSES} listener processes (\`bench/comment-listeners.mjs\`, node:http), then ${report.options.comments} comments posted one after another, one every ${report.options.intervalMs} ms, by this process. **Delivery time** of a comment on a stream: when its event arrived there, minus when its \`POST /comment\` was sent (both from \`performance.timeOrigin + performance.now()\` of their processes: the same system clock). Every (comment, stream) pair is a sample; p50 and p99 per round, then the median over ${report.options.rounds} alternating rounds (max: the worst round).`,
    '- Contenders: (a) `livectl serve` on SQLite, streams and posts on the same server: the process that stores a comment wakes its feed at once; (b) two `livectl serve` replicas on one MySQL (MariaDB on this machine), streams on one, posts to the other: the streams\' replica sees the comment when it next polls the catalog (every 100 ms); (c) the ceiling, `bench/sse-ceiling.mjs`: plain node:http writing the event to every stream as the POST arrives, no database, validation or framework.',
    '- Memory per open stream: the growth of the streams\' server RSS from before the streams opened to when all were open, divided by the number of streams. CPU: seconds of CPU of the server process(es) per second of posting.',
    '',
    '| contender | p50 (ms) | p99 (ms) | worst round p99 | max (ms) | samples | lost | twice | memory per stream (KiB) | server CPU (cores) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({contender, summary: s}) => `| ${contender.label} | ${fmt(s.p50)} | **${fmt(s.p99)}** | ${fmt(s.p99Max)} | ${fmt(s.max)} | ${s.samples} | ${s.missing} | ${s.repeated} | ${fmt(s.kib)} | ${fmt(s.cpu, 2)} |`),
    '',
    '| check | value | target | |',
    '|---|---:|---:|---|',
    `| livectl, one server: p99 delivery to ${report.options.streams} streams | ${fmt(livectl?.p99)} ms | < 100 ms | ${livectl && livectl.p99 < 100 ? '**met**' : '**not met**'} |`,
    `| livectl p99 / ceiling p99 (same run) | ${livectl && ceiling ? fmt(livectl.p99 / ceiling.p99, 2) : '-'} | | |`,
    `| comments lost, and comments a stream got twice (all contenders, all rounds) | ${rows.reduce((sum, row) => sum + row.summary.missing, 0)} lost, ${rows.reduce((sum, row) => sum + row.summary.repeated, 0)} twice | 0 | |`,
    '',
    ...(report.notes.length > 0 ? ['Notes:', '', ...report.notes.map((note) => `- ${note}`), ''] : []),
    'Every round, in the order it ran:',
    '',
    '| round | contender | p50 (ms) | p99 (ms) | max (ms) | samples | missing | RSS before / after (MB) | KiB per stream |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...report.rounds.map((round) => `| ${round.round} | ${round.contender} | ${fmt(round.p50)} | ${fmt(round.p99)} | ${fmt(round.max)} | ${round.samples} | ${round.missing} | ${fmt(round.rssBeforeMb)} / ${fmt(round.rssAfterMb)} | ${fmt(round.kibPerStream)} |`),
    '',
  ]
  return lines.join('\n')
}

async function main() {
  const options = parseOptions()
  const env = environmentWithout('LIVECTL_')
  await rm(path.join(REPO_ROOT, WORK_DIR), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, WORK_DIR), {recursive: true})
  const sqliteDir = path.join(REPO_ROOT, WORK_DIR, 'sqlite')
  await registerVideo({dataDir: sqliteDir})
  const notes = []
  let mysql
  try {
    mysql = await createMysqlDatabase()
    await registerVideo({dataDir: path.join(REPO_ROOT, WORK_DIR, 'mysql'), db: mysql.url})
  } catch (error) {
    notes.push(`The MySQL contender did not run: ${error.message}`)
    mysql = undefined
  }

  const contenders = [
    {id: 'livectl', label: '(a) `livectl serve`, SQLite, one server', start: async () => [await startServe(env, {dataDir: sqliteDir})]},
    ...(mysql
      ? [{
          id: 'replicas', label: '(b) two `livectl serve` replicas, MySQL, posted to the other one',
          start: async () => {
            const dataDir = path.join(REPO_ROOT, WORK_DIR, 'mysql')
            return [await startServe(env, {dataDir, db: mysql.url}), await startServe(env, {dataDir, db: mysql.url})]
          },
        }]
      : []),
    {
      id: 'ceiling', label: '(c) ceiling: plain node:http fan-out, no database',
      start: async () => [await startServerProcess(process.execPath, ['bench/sse-ceiling.mjs', String(await freePort())], {cwd: REPO_ROOT, env, stream: 'stdout', pattern: /listening on (http:\/\/\S+)/})],
    },
  ]

  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const rounds = []
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const contender of contenders) {
        process.stdout.write(`round ${round} ${contender.id} ...`)
        const result = await runRound(contender, options)
        rounds.push({round, ...result})
        process.stdout.write(` p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms, ${result.missing} lost, ${result.repeated} twice, ${result.kibPerStream.toFixed(1)} KiB/stream\n`)
      }
    }
  } finally {
    await mysql?.drop()
  }

  const section = render({options, startedAt, loadAtStart, loadAtEnd: loadAverage(), machine: machineFacts(), contenders, rounds, notes})
  process.stdout.write(`\n${section}\n`)
  await writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), section)
  process.stdout.write('Wrote the "## Comment delivery" section of BENCHMARKS.md\n')
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/comments: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
