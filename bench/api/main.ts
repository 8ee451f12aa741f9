/**
 * API load benchmark: `GET /video/time` and `POST /comment` of `livectl serve` under load from a
 * separate process, on SQLite and on MySQL, against the practical ceiling measured in the same
 * session: bare Fastify routes (bench/api/ceiling-server.mjs) answering constants of the same bytes as
 * livectl's real responses, captured from the SQLite server before the load.
 *
 *   npm run bench:api                                  builds, then runs the defaults (20 s per scenario, 50 connections, 1 round)
 *   npx tsx bench/api/main.ts --duration 20 --connections 50 --runs 3 [--no-mysql] [--keep]
 *
 * Every server and every load generator is its own process: autocannon for the flat-out runs,
 * bench/api/paced-load.mjs for the fixed-rate ones. Each round runs the ceilings, then per catalog
 * GET /video/time flat out, GET /video/time at 1,000 req/s and POST /comment flat out, then the
 * ceilings again. Writes the `## API` section of BENCHMARKS.md.
 */
import {Buffer} from 'node:buffer'
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {parseArgs} from 'node:util'

import type {Connection} from 'mysql2/promise'

import {httpRequest} from '../support/net.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {readMemoryKib} from '../support/proc.js'
import {formatCommand, loadAverage, machineFacts, messageOf, writeSection} from '../support/report.js'
import {benchEnvironment, capture, type RunningServer, type RunOptions, startServerProcess} from '../support/spawn.js'
import {AUTOCANNON, measure} from './load.js'
import {type ApiReport, renderApiReport} from './report.js'
import {
  type ApiOptions, CATALOG_SCENARIOS, type CatalogUnderTest, CEILING_ID, CEILING_SCENARIOS, type Measurement, type SanityCheck, type Scenario, type ScenarioId, SCENARIOS,
  type ServerSummary, VIDEO_ID,
} from './scenarios.js'

const WORK_DIR = path.join('.bench-work', 'api')
/** Long enough that the default 30 s window of /video/time is full: 15 video and 15 audio frames. */
const CLIP = {durationSeconds: 30, size: '640x360', preset: 'ultrafast'}
const MYSQL_ADMIN_URL = (process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '')

function parseOptions(): ApiOptions {
  const {values} = parseArgs({
    options: {
      duration: {type: 'string', default: '20'},
      connections: {type: 'string', default: '50'},
      runs: {type: 'string', default: '1'},
      'no-mysql': {type: 'boolean', default: false},
      keep: {type: 'boolean', default: false},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write(
      'Usage: npx tsx bench/api/main.ts [--duration SECONDS (default 20)] [--connections N (default 50)] [--runs N (default 1)] [--no-mysql] [--keep]\n' +
        'MySQL: a throwaway database on BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306), dropped at the end.\n',
    )
    process.exit(0)
  }

  const integer = (name: 'duration' | 'connections' | 'runs', min: number, max: number) => {
    const value = Number(values[name])
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got ${values[name]})`)
    return value
  }

  return {
    durationSeconds: integer('duration', 1, 600),
    connections: integer('connections', 1, 10_000),
    runs: integer('runs', 1, 100),
    mysql: !values['no-mysql'],
    keep: values.keep,
  }
}

/** One request of the scenario before any load, to report what it answers (and catch an error page measured as speed). */
async function sanityCheck(scenario: Scenario, baseUrl: string): Promise<SanityCheck & {body: string}> {
  const headers = scenario.method === 'POST' ? {'content-type': 'application/json'} : {}
  const response = await httpRequest(`${baseUrl}${scenario.path}`, {method: scenario.method, headers, body: scenario.body})
  let items: number | undefined
  try {
    const parsed: unknown = JSON.parse(response.body)
    if (Array.isArray(parsed)) items = parsed.length
  } catch {
    // not JSON: the body excerpt says what it was
  }

  return {
    status: response.status,
    ok: response.status === scenario.expectedStatus && (scenario.expectedItemsMin === undefined || (items ?? 0) >= scenario.expectedItemsMin),
    bytes: Buffer.byteLength(response.body),
    items,
    excerpt: response.body.slice(0, 300),
    body: response.body,
  }
}

async function withMysqlAdmin<T>(work: (connection: Connection) => Promise<T>): Promise<T> {
  const {default: mysql} = await import('mysql2/promise')
  const connection = await mysql.createConnection({uri: MYSQL_ADMIN_URL, connectTimeout: 5000})
  try {
    return await work(connection)
  } finally {
    await connection.end()
  }
}

/** A throwaway database for the MySQL catalog; livectl's migrations create the tables on first open. */
async function createMysqlDatabase() {
  return withMysqlAdmin(async (connection) => {
    const [rows] = await connection.query('SELECT VERSION() AS version')
    const version = String((rows as Array<{version: string}>)[0]?.version)
    const name = `livectl_bench_${randomBytes(4).toString('hex')}`
    await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)
    return {name, version, url: `${MYSQL_ADMIN_URL}/${name}`}
  })
}

const dropMysqlDatabase = (name: string) => withMysqlAdmin((connection) => connection.query(`DROP DATABASE IF EXISTS \`${name}\``))

const packageVersion = (name: string) => (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {version: string}).version

function assertBuilt() {
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'commands', 'serve.js'))) throw new Error('dist/ is missing: run `npm run build` first (or `npm run bench:api`).')
  if (!existsSync(path.join(REPO_ROOT, AUTOCANNON))) throw new Error(`${AUTOCANNON} is missing: run \`npm install\` (autocannon is a devDependency).`)
}

/** Sets up the video, the catalogs and the servers, runs every round, and returns what the report needs. */
type Cleanup = () => Promise<unknown>
type BenchmarkResults = Pick<ApiReport, 'catalogs' | 'mysqlNote' | 'servers' | 'sanity' | 'measurements' | 'setupCommands' | 'serverCommands' | 'packageDir'>

async function benchmark(options: ApiOptions, run: RunOptions, cleanups: Cleanup[]): Promise<BenchmarkResults> {
  const say = (line: string) => process.stdout.write(`${line}\n`)
  await rm(path.join(REPO_ROOT, WORK_DIR), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, WORK_DIR), {recursive: true})
  if (!options.keep) cleanups.push(() => rm(path.join(REPO_ROOT, WORK_DIR), {recursive: true, force: true}))

  const setupCommands: string[] = []
  const livectl = async <T>(args: string[]): Promise<T> => {
    setupCommands.push(formatCommand('node', args))
    return JSON.parse(await capture(process.execPath, args, run)) as T
  }

  say(`Generating a ${CLIP.durationSeconds} s ${CLIP.size} clip and packaging it with livectl demo ...`)
  const mediaDir = path.join(WORK_DIR, 'media')
  const demo = await livectl<{packageDir: string}>(['bin/run.js', 'demo', '--data-dir', mediaDir, '--duration', String(CLIP.durationSeconds), '--size', CLIP.size, '--preset', CLIP.preset, '--json'])
  const packageDir = path.relative(REPO_ROOT, demo.packageDir)

  const catalogs: CatalogUnderTest[] = [{id: 'sqlite', name: 'SQLite', dataDir: path.join(WORK_DIR, 'sqlite'), db: undefined}]
  let mysqlNote: string | undefined = options.mysql ? undefined : 'skipped (--no-mysql)'
  if (options.mysql) {
    try {
      const database = await createMysqlDatabase()
      cleanups.push(() => dropMysqlDatabase(database.name))
      catalogs.push({id: 'mysql', name: 'MySQL', dataDir: path.join(WORK_DIR, 'mysql'), db: database.url, version: database.version, database: database.name})
    } catch (error) {
      mysqlNote = `skipped: ${MYSQL_ADMIN_URL} is unreachable (${(error as NodeJS.ErrnoException).code ?? ''} ${messageOf(error)})`.replace(/\s+/g, ' ')
      say(`MySQL ${mysqlNote}`)
    }
  }

  const servers: Record<string, RunningServer & ServerSummary> = {}
  const serverCommands: string[] = []
  const start = async (id: string, args: string[], readyOn: {stream: 'stdout' | 'stderr'; pattern: RegExp}) => {
    serverCommands.push(formatCommand('node', args))
    const server = await startServerProcess(process.execPath, args, {...run, ...readyOn})
    const entry: RunningServer & ServerSummary = {...server, id}
    cleanups.push(async () => {
      entry.stopped = await server.stop()
    })
    servers[id] = entry
    return entry
  }
  const serverOf = (id: string) => {
    const server = servers[id]
    if (!server) throw new Error(`no server ${id}`)
    return server
  }

  for (const catalog of catalogs) {
    const dbArgs = catalog.db ? ['--db', catalog.db] : []
    const video = await livectl<{status: string; durationSeconds: number}>(['bin/run.js', 'videos', 'add', packageDir, '--id', VIDEO_ID, '--data-dir', catalog.dataDir, ...dbArgs, '--json'])
    catalog.video = {status: video.status, durationSeconds: video.durationSeconds}
    const server = await start(catalog.id, ['bin/run.js', 'serve', '--port', '0', '--data-dir', catalog.dataDir, ...dbArgs, '--log-level', 'silent', '--comment-rate-limit', '0'], {
      stream: 'stderr',
      pattern: /listening on (http:\/\/\S+)/,
    })
    catalog.display = /\(catalog (.+)\)/.exec(server.output())?.[1]
  }

  const sanity: Record<string, SanityCheck> = {}
  const check = async (scenarioId: ScenarioId, targetId: string) => {
    const {body, ...result} = await sanityCheck(SCENARIOS[scenarioId], serverOf(targetId).url)
    sanity[`${scenarioId}/${targetId}`] = result
    say(`check ${SCENARIOS[scenarioId].method} ${SCENARIOS[scenarioId].path} on ${targetId}: ${result.status}, ${result.bytes} bytes${result.items === undefined ? '' : `, ${result.items} items`}${result.ok ? '' : `  UNEXPECTED: ${result.excerpt}`}`)
    return body
  }

  // The ceiling answers the very bytes the first catalog's server answered before any load.
  const ceilingBodies: Partial<Record<ScenarioId, string>> = {}
  for (const catalog of catalogs) {
    for (const scenarioId of ['time', 'comment'] as const) {
      const body = await check(scenarioId, catalog.id)
      ceilingBodies[scenarioId] ??= body
    }
  }

  const bodyFiles = {time: path.join(WORK_DIR, 'ceiling-time.json'), comment: path.join(WORK_DIR, 'ceiling-comment.json')}
  for (const [scenarioId, file] of Object.entries(bodyFiles)) await writeFile(path.join(REPO_ROOT, file), ceilingBodies[scenarioId as ScenarioId] ?? '')
  await start(CEILING_ID, ['bench/api/ceiling-server.mjs', '--time-body', bodyFiles.time, '--comment-body', bodyFiles.comment], {stream: 'stdout', pattern: /^(http:\/\/\S+)$/m})
  for (const scenarioId of ['tiny', 'time', 'comment'] as const) await check(scenarioId, CEILING_ID)

  type Step = [ScenarioId, string, ('first' | 'last')?]
  const ceilingRuns = (position: 'first' | 'last') => CEILING_SCENARIOS.map((scenarioId): Step => [scenarioId, CEILING_ID, position])
  const plan: Step[] = [...ceilingRuns('first'), ...catalogs.flatMap(({id}) => CATALOG_SCENARIOS.map((scenarioId): Step => [scenarioId, id])), ...ceilingRuns('last')]
  const measurements: Measurement[] = []
  for (let round = 1; round <= options.runs; round += 1) {
    for (const [scenarioId, targetId, position] of plan) {
      const measurement = await measure(SCENARIOS[scenarioId], serverOf(targetId), options, run)
      measurements.push({round, scenarioId, targetId, position, ...measurement})
      const {latencyMs} = measurement
      say(
        `round ${round}/${options.runs}  ${`${scenarioId} ${targetId}`.padEnd(18)} ${measurement.requestsPerSecond.toFixed(0).padStart(7)} req/s  ` +
          `p50 ${latencyMs.p50} ms  p90 ${latencyMs.p90} ms  p99 ${latencyMs.p99} ms  non-2xx ${measurement.non2xx}  errors ${measurement.errors + measurement.timeouts}  ` +
          `server CPU ${measurement.serverCpuPercent.toFixed(0)}%  machine ${measurement.machineBusyPercent.toFixed(0)}% busy  (load ${loadAverage()})`,
      )
    }
  }

  for (const server of Object.values(servers)) server.peakRssMb = (readMemoryKib(server.child.pid ?? 0)?.hwmKib ?? 0) / 1024
  return {catalogs, mysqlNote, servers, sanity, measurements, setupCommands, serverCommands, packageDir}
}

async function main(): Promise<void> {
  const options = parseOptions()
  assertBuilt()
  // Without LIVECTL_* settings that would change livectl's defaults; the tool paths stay.
  const run = {cwd: REPO_ROOT, env: benchEnvironment()}
  const cleanups: Cleanup[] = []
  let cleaning: Promise<void> | undefined
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) {
        try {
          await cleanup()
        } catch (error) {
          process.stderr.write(`bench/api: cleanup failed: ${messageOf(error)}\n`)
        }
      }
    })())
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nbench/api: ${signal}: stopping the servers and dropping the MySQL database\n`)
    void cleanUp().finally(() => process.exit(130))
  }

  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  let results: BenchmarkResults
  try {
    results = await benchmark(options, run, cleanups)
  } finally {
    await cleanUp()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }

  const section = renderApiReport({
    options,
    startedAt,
    loadAtStart,
    loadAtEnd: loadAverage(),
    machine: machineFacts(),
    versions: {autocannon: packageVersion('autocannon'), fastify: packageVersion('fastify')},
    clip: CLIP,
    videoId: VIDEO_ID,
    ...results,
  })
  process.stdout.write(`\n${section}\n`)
  await writeSection(BENCHMARKS_FILE, section)
  process.stdout.write('Wrote the "## API" section of BENCHMARKS.md\n')
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/api: ${messageOf(error)}\n`)
  process.exitCode = 1
}
