/**
 * One measured load run of bench/api.mjs: a warm-up, then the load from its own process while the
 * CPU of the server and of the whole machine is counted. Flat-out scenarios use autocannon; the
 * fixed-rate scenario uses bench/paced-load.mjs (evenly spaced requests, latency from the scheduled
 * send time). Both results come back in one shape.
 */
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'

import {FIXED_RATE, FIXED_RATE_CONNECTIONS, WARMUP_REQUESTS} from './api-report.mjs'
import {capture, formatCommand, machineCpuTicks, processCpuSeconds} from './support.mjs'

export const AUTOCANNON = path.join('node_modules', 'autocannon', 'autocannon.js')
const PACED_LOAD = path.join('bench', 'paced-load.mjs')

const connectionsFor = (scenario, options) => (scenario.mode === 'rate' ? FIXED_RATE_CONNECTIONS : options.connections)

/** autocannon's arguments: a warm-up of a fixed number of requests, or a flat-out run for the duration. */
function autocannonArgs(scenario, baseUrl, options, {warmup}) {
  const args = ['--json', '--connections', String(connectionsFor(scenario, options))]
  args.push(...(warmup ? ['--amount', String(WARMUP_REQUESTS)] : ['--duration', String(options.durationSeconds)]))
  if (scenario.method === 'POST') args.push('--method', 'POST', '--headers', 'content-type=application/json', '--body', scenario.body)
  args.push(`${baseUrl}${scenario.path}`)
  return args
}

function pacedArgs(scenario, baseUrl, options) {
  const args = ['--url', `${baseUrl}${scenario.path}`, '--rate', String(FIXED_RATE), '--connections', String(FIXED_RATE_CONNECTIONS), '--duration', String(options.durationSeconds)]
  if (scenario.method === 'POST') args.push('--method', 'POST', '--header', 'content-type: application/json', '--body', scenario.body)
  return args
}

function fromAutocannon(result) {
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

function fromPaced(result) {
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
export async function measure(scenario, server, options, run) {
  await capture(process.execPath, [AUTOCANNON, ...autocannonArgs(scenario, server.url, options, {warmup: true})], run)
  const [script, args, parse] =
    scenario.mode === 'rate'
      ? [PACED_LOAD, pacedArgs(scenario, server.url, options), fromPaced]
      : [AUTOCANNON, autocannonArgs(scenario, server.url, options, {warmup: false}), fromAutocannon]
  const serverCpuBefore = processCpuSeconds(server.child.pid)
  const machineBefore = machineCpuTicks()
  const startedAt = performance.now()
  const stdout = await capture(process.execPath, [script, ...args], run)
  const wallSeconds = (performance.now() - startedAt) / 1000
  const serverCpuSeconds = processCpuSeconds(server.child.pid) - serverCpuBefore
  const machineAfter = machineCpuTicks()
  return {
    command: formatCommand('node', [script, ...args]),
    generator: scenario.mode === 'rate' ? 'paced-load' : 'autocannon',
    ...parse(JSON.parse(stdout.trim().split('\n').at(-1))),
    serverCpuPercent: (serverCpuSeconds / wallSeconds) * 100,
    machineBusyPercent: ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100,
  }
}
