/**
 * The `## API` section of BENCHMARKS.md, from the measurements of bench/api/main.ts.
 */
import type {MachineFacts} from '../support/report.js'
import {fence, measuredAt} from '../support/report.js'
import {median} from '../support/stats.js'
import {
  type ApiOptions, CATALOG_SCENARIOS, type CatalogUnderTest, CEILING_ID, CEILING_SCENARIOS, FIXED_RATE, FIXED_RATE_CONNECTIONS, type Measurement, type SanityCheck, type ScenarioId,
  SCENARIOS, type ServerSummary, TARGETS, WARMUP_REQUESTS,
} from './scenarios.js'

/** The real benchmark: anything shorter is a smoke run whose numbers mean nothing. */
const FULL_DURATION_SECONDS = 20

export interface ApiReport {
  options: ApiOptions
  startedAt: Date
  loadAtStart: string
  loadAtEnd: string
  machine: MachineFacts
  versions: {autocannon: string; fastify: string}
  clip: {durationSeconds: number; size: string; preset: string}
  videoId: string
  catalogs: CatalogUnderTest[]
  mysqlNote?: string
  servers: Record<string, ServerSummary>
  sanity: Record<string, SanityCheck>
  measurements: Measurement[]
  setupCommands: string[]
  serverCommands: string[]
  packageDir: string
}

interface ScenarioStats {
  runs: number
  requestsPerSecond: number
  p50: number
  p90: number
  p99: number
  max: number
  average: number
  bytesPerResponse: number
  serverCpuPercent: number
  machineBusyPercent: number
  errors: number
  non2xx: number
  statusCodes: Record<string, number>
  totalRequests: number
  sent?: number
  p999?: number
  handOffP50?: number
  handOffP99?: number
  sendLagP50?: number
  sendLagP99?: number
}

const perSecond = (value: number) => Math.round(value).toLocaleString('en-US')
const ms = (value: number | undefined) => (value === undefined ? String(value) : Number.isInteger(value) ? String(value) : value.toFixed(2))
const percent = (value: number) => `${value.toFixed(0)}%`
const verdict = (ok: boolean, smoke: boolean) => (smoke ? `${ok ? 'met' : 'not met'} (smoke run: not a result)` : ok ? '**met**' : '**not met**')

/** Medians over the runs of one scenario on one server; errors and non-2xx summed. */
function summarize(runs: readonly Measurement[]): ScenarioStats {
  const pick = (read: (run: Measurement) => number | undefined) => median(runs.map((run) => read(run) ?? Number.NaN))
  const paced = runs.every((run) => run.generator === 'paced-load')
  return {
    runs: runs.length,
    requestsPerSecond: pick((run) => run.requestsPerSecond),
    p50: pick((run) => run.latencyMs.p50),
    p90: pick((run) => run.latencyMs.p90),
    p99: pick((run) => run.latencyMs.p99),
    max: pick((run) => run.latencyMs.max),
    average: pick((run) => run.latencyMs.average),
    bytesPerResponse: pick((run) => run.bytesPerResponse),
    serverCpuPercent: pick((run) => run.serverCpuPercent),
    machineBusyPercent: pick((run) => run.machineBusyPercent),
    errors: runs.reduce((sum, run) => sum + run.errors + run.timeouts, 0),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    statusCodes: runs.reduce<Record<string, number>>((codes, run) => {
      for (const [code, count] of Object.entries(run.statusCodes)) codes[code] = (codes[code] ?? 0) + count
      return codes
    }, {}),
    totalRequests: runs.reduce((sum, run) => sum + run.totalRequests, 0),
    ...(paced && runs.length > 0
      ? {
          sent: runs.reduce((sum, run) => sum + (run.sent ?? 0), 0),
          p999: pick((run) => run.latencyMs.p999),
          handOffP50: pick((run) => run.latencyFromHandOffMs?.p50),
          handOffP99: pick((run) => run.latencyFromHandOffMs?.p99),
          sendLagP50: pick((run) => run.sendLagMs?.p50),
          sendLagP99: pick((run) => run.sendLagMs?.p99),
        }
      : {}),
  }
}

function statusCodeList(statusCodes: Record<string, number>): string {
  return Object.entries(statusCodes).map(([code, count]) => `${code}: ${count.toLocaleString('en-US')}`).join(', ')
}

const ratioCell = (part: ScenarioStats, whole: ScenarioStats, clean: boolean) => `${(part.requestsPerSecond / whole.requestsPerSecond).toFixed(2)} (${perSecond(part.requestsPerSecond)} / ${perSecond(whole.requestsPerSecond)} req/s${clean ? '' : ', with failures'})`
const isClean = (stats: ScenarioStats) => stats.non2xx === 0 && stats.errors === 0

function row(label: string, server: string, stats: ScenarioStats): string {
  return `| ${label} | ${server} | ${perSecond(stats.requestsPerSecond)} | ${ms(stats.p50)} | ${ms(stats.p90)} | ${ms(stats.p99)} | ${ms(stats.average)} | ` +
    `${stats.totalRequests.toLocaleString('en-US')} | ${stats.non2xx} | ${stats.errors} | ${stats.bytesPerResponse.toFixed(0)} | ${percent(stats.serverCpuPercent)} | ${percent(stats.machineBusyPercent)} |`
}

const CEILING_NAME = 'ceiling (bare Fastify)'

export function renderApiReport(report: ApiReport): string {
  const {options, machine, measurements, catalogs, servers} = report
  const smoke = options.durationSeconds < FULL_DURATION_SECONDS
  const select = (scenarioId: ScenarioId, targetId: string, position?: 'first' | 'last') =>
    measurements.filter((m) => m.scenarioId === scenarioId && m.targetId === targetId && (!position || m.position === position))
  const stats = (scenarioId: ScenarioId, targetId: string, position?: 'first' | 'last') => summarize(select(scenarioId, targetId, position))
  const ceilingOf = Object.fromEntries(CEILING_SCENARIOS.map((scenarioId) => [scenarioId, stats(scenarioId, CEILING_ID)])) as Record<ScenarioId, ScenarioStats>
  const serverName = (targetId: string) => (targetId === CEILING_ID ? CEILING_NAME : catalogs.find((catalog) => catalog.id === targetId)?.name ?? targetId)
  const sanity = (key: string): SanityCheck => report.sanity[key] ?? {status: 0, ok: false, bytes: 0, excerpt: 'not checked'}
  const invocation = `npx tsx bench/api/main.ts --duration ${options.durationSeconds} --connections ${options.connections} --runs ${options.runs}${options.mysql ? '' : ' --no-mysql'}${options.keep ? ' --keep' : ''}`

  const lines = ['## API', '']
  if (smoke) {
    lines.push(
      `> **Smoke run only** (${options.durationSeconds} s per scenario): these numbers only show that the benchmark works. ` +
        `Run \`npm run bench:api\` (${FULL_DURATION_SECONDS} s per scenario) for real ones.`,
      '',
    )
  }

  const mysql = catalogs.find((catalog) => catalog.id === 'mysql')
  const timeCheck = sanity('time/sqlite')
  const commentCheck = sanity('comment/sqlite')
  const cores = machine.cores
  lines.push(
    `Measured ${measuredAt(report.startedAt)} with \`${invocation}\` (\`npm run bench:api\` builds first and runs the defaults).`,
    '',
    `- Machine: ${cores} cores (nproc), ${machine.cpuModel}, ${machine.memoryGib.toFixed(1)} GiB RAM, ${machine.kernel}; Node ${machine.node}. ` +
      `Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- Everything on this one machine: each server and the load generator (autocannon ${report.versions.autocannon} or \`bench/api/paced-load.mjs\`, started as its own Node process for every run) are separate processes; ` +
      'the three servers run for the whole session and only one is loaded at a time' +
      (cores <= 2
        ? `. With ${cores} cores the load generator and the server compete for the same cores: in the flat-out \`GET /video/time\` runs of the ceiling the server used ${percent(ceilingOf.time.serverCpuPercent)} of one core while the machine was ${percent(ceilingOf.time.machineBusyPercent)} busy (of its ${cores} cores), ` +
          'the load generator taking most of the rest, so every flat-out number here, the ceiling\'s included, is lower than on a server with cores of its own. Compare ratios, not requests/s.'
        : '.'),
    `- Ceiling: \`bench/api/ceiling-server.mjs\`, bare Fastify ${report.versions.fastify} (no logger, plugins, hooks or validation) answering the same requests as livectl with constants read at start-up and sent as ready-made buffers, so no request does work of its own: ` +
      `\`GET /video/time\` answers the exact ${sanity('time/ceiling').bytes}-byte body the SQLite server answered to the same request before the load; ` +
      `\`POST /comment\` lets Fastify parse the JSON body and answers 201 with the exact ${sanity('comment/ceiling').bytes}-byte body of a real comment (and livectl's constant \`idempotent-replayed: false\` header, so the bytes on the wire match too); ` +
      `\`GET /tiny\` answers a ${sanity('tiny/ceiling').bytes}-byte array, the ceiling of a near-empty response, for reference only. ` +
      'The ceilings run first and last in every round; each figure is the median of all those runs.',
    `- Video \`${report.videoId}\`: a ${report.clip.durationSeconds} s ${report.clip.size} clip made and packaged by \`livectl demo\` (x264 ${report.clip.preset}) and registered with \`livectl videos add\`; ` +
      `\`GET ${SCENARIOS.time.path}\` answers ${timeCheck.status} with ${timeCheck.items ?? '?'} frames (${timeCheck.bytes} bytes) and \`POST /comment\` answers ${commentCheck.status} with ${commentCheck.bytes} bytes. ` +
      `\`livectl serve --log-level silent\` (request logging off, as for the ceiling; Prometheus metrics stay on).`,
    `- Catalogs: SQLite (\`${catalogs[0]?.display ?? 'sqlite'}\`, WAL); ` +
      (mysql ? `MySQL: MariaDB ${mysql.version} on \`${mysql.display ?? mysql.db}\`, a fresh database dropped at the end.` : `MySQL ${report.mysqlNote}.`),
    `- Each run lasts ${options.durationSeconds} s after a warm-up of ${WARMUP_REQUESTS.toLocaleString('en-US')} requests (autocannon) that is not counted. ` +
      `Flat-out runs: autocannon, ${options.connections} connections, no pipelining; latency over 2xx responses; throughput is the average of its per-second samples.`,
    `- Fixed-rate runs: \`bench/api/paced-load.mjs\` hands request i to a pool of ${FIXED_RATE_CONNECTIONS} keep-alive connections at start + i/${FIXED_RATE.toLocaleString('en-US')} s on an absolute schedule that does not drift, without waiting for earlier responses (queueing when every connection is busy), so the server sees evenly spaced arrivals, not autocannon \`--overallRate\`'s burst at the start of each second. ` +
      'Each latency runs from the request\'s scheduled send time to the end of its response, so time lost to a late timer or to waiting for a free connection counts against the server, and coordinated omission is accounted for as in wrk2. ' +
      '(Latency over 2xx responses, nearest-rank percentiles from `process.hrtime.bigint()`; req/s is responses over the duration, or over the time to the last response if longer.)',
    `- ${options.runs} run(s) per scenario; the tables show medians, with errors and non-2xx summed over runs. ` +
      'Server CPU is the server process\'s user+system time over the run (100% = one core); machine busy is the share of all cores in use, load generator included. Bytes/response is measured on the wire, headers included.',
    '',
    '| scenario | server | req/s | p50 (ms) | p90 (ms) | p99 (ms) | mean (ms) | requests | non-2xx | errors | bytes/response | server CPU | machine busy |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const scenarioId of CATALOG_SCENARIOS) {
    lines.push(row(SCENARIOS[scenarioId].label, CEILING_NAME, ceilingOf[scenarioId]))
    for (const catalog of catalogs) lines.push(row(SCENARIOS[scenarioId].label, catalog.name, stats(scenarioId, catalog.id)))
  }

  lines.push(row(SCENARIOS.tiny.label, CEILING_NAME, ceilingOf.tiny), '')
  lines.push(
    `Flat-out ceilings at the start / end of each round (median req/s): ${CEILING_SCENARIOS.filter((scenarioId) => SCENARIOS[scenarioId].mode === 'max').map((scenarioId) => `${SCENARIOS[scenarioId].label} ${perSecond(stats(scenarioId, CEILING_ID, 'first').requestsPerSecond)} / ${perSecond(stats(scenarioId, CEILING_ID, 'last').requestsPerSecond)}`).join('; ')}.`,
    '',
  )

  lines.push(
    `Fixed-rate runs in detail (\`bench/api/paced-load.mjs\`, ${FIXED_RATE.toLocaleString('en-US')} req/s, ${FIXED_RATE_CONNECTIONS} connections). ` +
      'The last three columns show how much of the latency the load generator itself adds: the same responses timed from when its timer actually handed the request out, and how late that was.',
    '',
    '| server | sent | completed | req/s | p50 (ms) | p90 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | p99 from hand-off (ms) | timer lateness p50 / p99 (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const targetId of [CEILING_ID, ...catalogs.map(({id}) => id)]) {
    const atRate = stats('timeAtRate', targetId)
    if (atRate.sent === undefined) continue
    lines.push(
      `| ${serverName(targetId)} | ${atRate.sent.toLocaleString('en-US')} | ${atRate.totalRequests.toLocaleString('en-US')} | ${perSecond(atRate.requestsPerSecond)} | ${ms(atRate.p50)} | ${ms(atRate.p90)} | ${ms(atRate.p99)} | ${ms(atRate.p999)} | ${ms(atRate.max)} | ${ms(atRate.handOffP99)} | ${ms(atRate.sendLagP50)} / ${ms(atRate.sendLagP99)} |`,
    )
  }

  lines.push('', '| check | value | target | |', '|---|---:|---:|---|')
  for (const catalog of catalogs) {
    const time = stats('time', catalog.id)
    const ratio = time.requestsPerSecond / ceilingOf.time.requestsPerSecond
    lines.push(
      `| \`GET /video/time\` ÷ same-size ceiling, ${catalog.name} | ${ratioCell(time, ceilingOf.time, isClean(time))} | >= ${TARGETS.throughputRatioMin.toFixed(2)} | ${verdict(ratio >= TARGETS.throughputRatioMin && isClean(time), smoke)} |`,
    )
  }

  for (const catalog of catalogs) {
    const atRate = stats('timeAtRate', catalog.id)
    const held = atRate.requestsPerSecond >= FIXED_RATE * TARGETS.rateHeldMin
    lines.push(
      `| p99 of \`GET /video/time\` at ${FIXED_RATE.toLocaleString('en-US')} req/s, ${catalog.name} | ${ms(atRate.p99)} ms (at ${perSecond(atRate.requestsPerSecond)} req/s${isClean(atRate) ? '' : ', with failures'}) | < ${TARGETS.p99AtRateMaxMs} ms | ${verdict(atRate.p99 < TARGETS.p99AtRateMaxMs && held && isClean(atRate), smoke)} |`,
    )
  }

  for (const catalog of catalogs) {
    const time = stats('time', catalog.id)
    lines.push(`| for reference: \`GET /video/time\` ÷ ${sanity('tiny/ceiling').bytes}-byte \`/tiny\` ceiling, ${catalog.name} | ${ratioCell(time, ceilingOf.tiny, isClean(time))} | none | |`)
  }

  for (const catalog of catalogs) {
    const comment = stats('comment', catalog.id)
    lines.push(`| for reference: \`POST /comment\` ÷ same-size ceiling, ${catalog.name} | ${ratioCell(comment, ceilingOf.comment, isClean(comment))} | none | |`)
  }

  lines.push(
    `| for reference: p99 of the ceiling's \`GET /video/time\` at ${FIXED_RATE.toLocaleString('en-US')} req/s (this machine and load generator) | ${ms(ceilingOf.timeAtRate.p99)} ms (at ${perSecond(ceilingOf.timeAtRate.requestsPerSecond)} req/s) | none | |`,
  )

  const failures = Object.entries(report.sanity).filter(([, check]) => !check.ok)
  const unexpectedCodes = measurements.filter((m) => m.non2xx > 0 || m.errors > 0 || m.timeouts > 0)
  lines.push('')
  if (failures.length > 0) {
    lines.push(`**Unexpected answers before the load:** ${failures.map(([key, check]) => `${key} answered ${check.status}: \`${check.excerpt}\``).join('; ')}.`, '')
  }

  if (unexpectedCodes.length > 0) {
    lines.push(
      `**Failures under load:** ${unexpectedCodes.map((m) => `round ${m.round} ${m.scenarioId} on ${m.targetId}: status codes ${statusCodeList(m.statusCodes)}, ${m.errors} errors, ${m.timeouts} timeouts`).join('; ')}.`,
      '',
    )
  }

  const stops = Object.values(servers).map((server) => `${server.id} ${(server.peakRssMb ?? 0).toFixed(0)} MB` + (server.stopped && server.stopped.code !== 0 ? ` (exit ${server.stopped.signal ?? server.stopped.code}${server.stopped.killed ? ', killed after SIGTERM timed out' : ''})` : ''))
  lines.push(`Servers' peak RSS (VmHWM), each stopped with SIGTERM at the end: ${stops.join(', ')}.`, '')

  lines.push(
    'Every run, in the order it ran:',
    '',
    '| round | scenario | server | req/s | p50 (ms) | p99 (ms) | non-2xx | errors | server CPU | machine busy |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|',
  )
  for (const m of measurements) {
    lines.push(
      `| ${m.round} | ${SCENARIOS[m.scenarioId].label}${m.position ? ` (${m.position})` : ''} | ${serverName(m.targetId)} | ${perSecond(m.requestsPerSecond)} | ${ms(m.latencyMs.p50)} | ${ms(m.latencyMs.p99)} | ${m.non2xx} | ${m.errors + m.timeouts} | ${percent(m.serverCpuPercent)} | ${percent(m.machineBusyPercent)} |`,
    )
  }

  const loadCommands = [...new Map(measurements.map((m) => [`${m.scenarioId}/${m.targetId}`, m.command])).values()]
  lines.push(
    '',
    'Commands (from the repository root; ports are those of this run):',
    '',
    ...fence([
      '# video and catalogs',
      ...report.setupCommands,
      '# servers (the ceiling\'s two body files hold the SQLite server\'s answers to `GET /video/time?...` and `POST /comment`, fetched before the load)',
      ...report.serverCommands,
      `# load, one process per run, each after a warm-up: autocannon with --amount ${WARMUP_REQUESTS} instead of --duration (for a fixed-rate run, the same request with --connections ${FIXED_RATE_CONNECTIONS})`,
      ...loadCommands,
    ]),
  )
  return lines.join('\n')
}
