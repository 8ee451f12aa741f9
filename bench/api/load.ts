/**
 * One measured load run of bench/api: a warm-up, then the load from its own process while the
 * CPU of the server and of the whole machine is counted. Flat-out scenarios use autocannon; the
 * fixed-rate scenario uses bench/api/paced-load.mjs (evenly spaced requests, latency from the
 * scheduled send time). Both results come back in one shape.
 */
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'

import {machineCpuTicks, processCpuSeconds} from '../support/proc.js'
import {formatCommand} from '../support/report.js'
import {capture, type RunningServer, type RunOptions} from '../support/spawn.js'
import {type ApiOptions, FIXED_RATE, FIXED_RATE_CONNECTIONS, type LoadResult, type Scenario, WARMUP_REQUESTS} from './scenarios.js'

export const AUTOCANNON = path.join('node_modules', 'autocannon', 'autocannon.js')
const PACED_LOAD = path.join('bench', 'api', 'paced-load.mjs')

type Parsed = Omit<LoadResult, 'command' | 'generator' | 'serverCpuPercent' | 'machineBusyPercent'>

/** The fields of autocannon's --json result read here. */
interface AutocannonResult {
  requests: {average: number; total: number}
  latency: {average: number; p50: number; p90: number; p99: number; max: number}
  throughput: {total: number}
  errors: number
  timeouts: number
  non2xx: number
  statusCodeStats?: Record<string, {count: number}>
}

/** paced-load.mjs's JSON line (the fields read here). */
interface PacedResult {
  achievedRate: number
  completed: number
  sent: number
  latencyMs: {mean: number; p50: number; p90: number; p99: number; p999: number; max: number}
  latencyFromHandOffMs: {p50: number; p90: number; p99: number; max: number}
  sendLagMs: {p50: number; p99: number; max: number}
  bytesPerResponse: number
  errors: number
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
}

const connectionsFor = (scenario: Scenario, options: ApiOptions) => (scenario.mode === 'rate' ? FIXED_RATE_CONNECTIONS : options.connections)

/** autocannon's arguments: a warm-up of a fixed number of requests, or a flat-out run for the duration. */
function autocannonArgs(scenario: Scenario, baseUrl: string, options: ApiOptions, {warmup}: {warmup: boolean}): string[] {
  const args = ['--json', '--connections', String(connectionsFor(scenario, options))]
  args.push(...(warmup ? ['--amount', String(WARMUP_REQUESTS)] : ['--duration', String(options.durationSeconds)]))
  if (scenario.method === 'POST') args.push('--method', 'POST', '--headers', 'content-type=application/json', '--body', scenario.body ?? '')
  args.push(`${baseUrl}${scenario.path}`)
  return args
}

function pacedArgs(scenario: Scenario, baseUrl: string, options: ApiOptions): string[] {
  const args = ['--url', `${baseUrl}${scenario.path}`, '--rate', String(FIXED_RATE), '--connections', String(FIXED_RATE_CONNECTIONS), '--duration', String(options.durationSeconds)]
  if (scenario.method === 'POST') args.push('--method', 'POST', '--header', 'content-type: application/json', '--body', scenario.body ?? '')
  return args
}

function fromAutocannon(result: AutocannonResult): Parsed {
  return {
    requestsPerSecond: result.requests.average,
    totalRequests: result.requests.total,
    latencyMs: {average: result.latency.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max},
    bytesPerResponse: result.requests.total > 0 ? result.throughput.total / result.requests.total : 0,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, {count}]) => [code, count])),
  }
}

function fromPaced(result: PacedResult): Parsed {
  const {latencyMs} = result
  return {
    requestsPerSecond: result.achievedRate,
    totalRequests: result.completed,
    sent: result.sent,
    latencyMs: {average: latencyMs.mean, p50: latencyMs.p50, p90: latencyMs.p90, p99: latencyMs.p99, p999: latencyMs.p999, max: latencyMs.max},
    latencyFromHandOffMs: result.latencyFromHandOffMs,
    sendLagMs: result.sendLagMs,
    bytesPerResponse: result.bytesPerResponse,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: result.statusCodes,
  }
}

/** Warms up (autocannon, a fixed number of requests), then loads the server for the duration. */
export async function measure(scenario: Scenario, server: RunningServer, options: ApiOptions, run: RunOptions): Promise<LoadResult> {
  await capture(process.execPath, [AUTOCANNON, ...autocannonArgs(scenario, server.url, options, {warmup: true})], run)
  const paced = scenario.mode === 'rate'
  const script = paced ? PACED_LOAD : AUTOCANNON
  const args = paced ? pacedArgs(scenario, server.url, options) : autocannonArgs(scenario, server.url, options, {warmup: false})
  const pid = server.child.pid ?? 0
  const serverCpuBefore = processCpuSeconds(pid) ?? Number.NaN
  const machineBefore = machineCpuTicks()
  const startedAt = performance.now()
  const stdout = await capture(process.execPath, [script, ...args], run)
  const wallSeconds = (performance.now() - startedAt) / 1000
  const serverCpuSeconds = (processCpuSeconds(pid) ?? Number.NaN) - serverCpuBefore
  const machineAfter = machineCpuTicks()
  const result: unknown = JSON.parse(stdout.trim().split('\n').at(-1) ?? '')
  return {
    command: formatCommand('node', [script, ...args]),
    generator: paced ? 'paced-load' : 'autocannon',
    ...(paced ? fromPaced(result as PacedResult) : fromAutocannon(result as AutocannonResult)),
    serverCpuPercent: (serverCpuSeconds / wallSeconds) * 100,
    machineBusyPercent: ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100,
  }
}
