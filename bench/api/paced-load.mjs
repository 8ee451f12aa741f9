/**
 * Fixed-rate load generator for bench/api, run as its own process. Request i is due at
 * start + i/rate seconds on an absolute schedule (timer lateness never accumulates) and is handed to
 * a keep-alive agent of at most N connections without waiting for earlier responses; when every
 * connection is busy it waits in the agent's queue. Latency runs from the request's SCHEDULED time to
 * the end of its response, so time spent waiting for the timer or for a free connection counts
 * (no coordinated omission). Prints one JSON object on stdout.
 *
 *   node bench/api/paced-load.mjs --url URL --rate 1000 --connections 20 --duration 20 [--method POST --header 'content-type: application/json' --body '{...}']
 *
 * Before the clock starts, one request per connection (not counted) opens all N connections.
 * Latency percentiles are over 2xx responses, nearest rank, in milliseconds.
 */
import {Buffer} from 'node:buffer'
import http from 'node:http'
import process from 'node:process'
import {clearTimeout, setTimeout} from 'node:timers'
import {URL} from 'node:url'
import {parseArgs} from 'node:util'

const NS_PER_MS = 1_000_000
const NS_PER_S = 1_000_000_000n

function parseOptions() {
  const {values} = parseArgs({
    options: {
      url: {type: 'string'},
      rate: {type: 'string', default: '1000'},
      connections: {type: 'string', default: '20'},
      duration: {type: 'string', default: '20'},
      method: {type: 'string', default: 'GET'},
      header: {type: 'string', multiple: true, default: []},
      body: {type: 'string'},
      timeout: {type: 'string', default: '10'},
    },
  })
  if (!values.url) throw new Error('--url is required')
  const positive = (name) => {
    const value = Number(values[name])
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number (got ${values[name]})`)
    return value
  }

  const headers = {}
  for (const header of values.header) {
    const colon = header.indexOf(':')
    if (colon <= 0) throw new Error(`--header must look like "name: value" (got ${header})`)
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim()
  }

  const body = values.body === undefined ? undefined : Buffer.from(values.body)
  if (body) headers['content-length'] = String(body.length)
  return {
    url: new URL(values.url),
    rate: positive('rate'),
    connections: Math.round(positive('connections')),
    durationSeconds: positive('duration'),
    method: values.method.toUpperCase(),
    headers,
    body,
    timeoutMs: positive('timeout') * 1000,
  }
}

/** Nearest-rank percentile of an ascending array. */
const percentile = (sorted, p) => (sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)])
const round3 = (value) => Math.round(value * 1000) / 1000

function main() {
  const options = parseOptions()
  const agent = new http.Agent({keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections})
  const sockets = new Set()
  const stats = {sent: 0, completed: 0, errors: 0, timeouts: 0, non2xx: 0, statusCodes: {}, errorMessages: {}}
  const total = Math.round(options.rate * options.durationSeconds)
  const latenciesMs = new Float64Array(total)
  const serviceMs = new Float64Array(total)
  const sendLagMs = new Float64Array(total)
  let latencyCount = 0
  let lastResponseAt = 0n
  let inFlight = 0
  let onIdle

  /** One request; `done(status)` once its response has ended or it failed (status undefined). */
  const request = (done) => {
    inFlight += 1
    let settled = false
    const finish = (status, error) => {
      if (settled) return
      settled = true
      inFlight -= 1
      done(status, error)
      if (inFlight === 0 && onIdle) onIdle()
    }

    const req = http.request(options.url, {method: options.method, headers: options.headers, agent}, (response) => {
      response.on('data', () => {})
      response.on('end', () => finish(response.statusCode))
      response.on('error', (error) => finish(undefined, error))
    })
    req.on('socket', (socket) => sockets.add(socket))
    req.setTimeout(options.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), {code: 'TIMEOUT'})))
    req.on('error', (error) => finish(undefined, error))
    req.end(options.body)
  }

  const record = (scheduledAt, handedAt, status, error) => {
    const now = process.hrtime.bigint()
    if (status === undefined) {
      if (error?.code === 'TIMEOUT') stats.timeouts += 1
      else stats.errors += 1
      const key = error?.code ?? error?.message ?? 'unknown'
      stats.errorMessages[key] = (stats.errorMessages[key] ?? 0) + 1
      return
    }

    stats.completed += 1
    lastResponseAt = now
    stats.statusCodes[status] = (stats.statusCodes[status] ?? 0) + 1
    if (status < 200 || status > 299) {
      stats.non2xx += 1
      return
    }

    latenciesMs[latencyCount] = Number(now - scheduledAt) / NS_PER_MS
    serviceMs[latencyCount] = Number(now - handedAt) / NS_PER_MS
    latencyCount += 1
  }

  const openConnections = () =>
    new Promise((resolve) => {
      let pending = options.connections
      for (let index = 0; index < options.connections; index += 1) {
        request(() => {
          pending -= 1
          if (pending === 0) resolve()
        })
      }
    })

  const runSchedule = () =>
    new Promise((resolve) => {
      const start = process.hrtime.bigint()
      const rate = BigInt(Math.round(options.rate * 1000))
      // Due time of request i in ns after start, exact integer arithmetic: i * 1e9 / rate.
      const dueAt = (index) => start + (BigInt(index) * NS_PER_S * 1000n) / rate
      let next = 0
      let timer
      const tick = () => {
        const now = process.hrtime.bigint()
        while (next < total && dueAt(next) <= now) {
          const scheduledAt = dueAt(next)
          sendLagMs[next] = Number(now - scheduledAt) / NS_PER_MS
          next += 1
          stats.sent += 1
          request((status, error) => record(scheduledAt, now, status, error))
        }

        if (next < total) {
          const waitMs = Number(dueAt(next) - process.hrtime.bigint()) / NS_PER_MS
          timer = setTimeout(tick, Math.max(0, Math.floor(waitMs)))
          return
        }

        clearTimeout(timer)
        resolve(start)
      }

      tick()
    })

  const drain = () =>
    new Promise((resolve) => {
      if (inFlight === 0) return resolve()
      onIdle = resolve
    })

  return (async () => {
    await openConnections()
    const opened = sockets.size
    const bytesBefore = [...sockets].reduce((sum, socket) => sum + socket.bytesRead, 0)
    const start = await runSchedule()
    await drain()
    const end = process.hrtime.bigint()
    const bytesRead = [...sockets].reduce((sum, socket) => sum + socket.bytesRead, 0) - bytesBefore
    agent.destroy()

    const latencies = latenciesMs.slice(0, latencyCount).sort()
    const fromHandOff = serviceMs.slice(0, latencyCount).sort()
    const lags = sendLagMs.slice(0, stats.sent).sort()
    const wallSeconds = Number(end - start) / 1e9
    // The schedule spans the duration; responses that end later stretch the window (a server that falls behind).
    const responseWindowSeconds = Math.max(options.durationSeconds, Number((lastResponseAt > start ? lastResponseAt : end) - start) / 1e9)
    const mean = latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length)
    const result = {
      url: options.url.href,
      method: options.method,
      targetRate: options.rate,
      connections: options.connections,
      connectionsOpened: sockets.size,
      connectionsOpenedBeforeStart: opened,
      durationSeconds: options.durationSeconds,
      sent: stats.sent,
      completed: stats.completed,
      errors: stats.errors,
      timeouts: stats.timeouts,
      non2xx: stats.non2xx,
      statusCodes: stats.statusCodes,
      errorMessages: stats.errorMessages,
      // Responses over the duration, or over the time from start to the last response when that is longer.
      achievedRate: round3(stats.completed / responseWindowSeconds),
      wallSeconds: round3(wallSeconds),
      bytesPerResponse: stats.completed > 0 ? round3(bytesRead / stats.completed) : 0,
      latencyMs: {
        samples: latencies.length,
        mean: round3(mean),
        p50: round3(percentile(latencies, 50)),
        p90: round3(percentile(latencies, 90)),
        p99: round3(percentile(latencies, 99)),
        p999: round3(percentile(latencies, 99.9)),
        max: round3(latencies.at(-1) ?? 0),
      },
      // The same responses timed from when the timer actually handed the request out, i.e. without the timer's lateness.
      latencyFromHandOffMs: {p50: round3(percentile(fromHandOff, 50)), p90: round3(percentile(fromHandOff, 90)), p99: round3(percentile(fromHandOff, 99)), max: round3(fromHandOff.at(-1) ?? 0)},
      // How late the timer handed each request out (before any wait for a free connection): the load generator's own share of the latency.
      sendLagMs: {p50: round3(percentile(lags, 50)), p99: round3(percentile(lags, 99)), max: round3(lags.at(-1) ?? 0)},
    }
    process.stdout.write(`${JSON.stringify(result)}\n`)
  })()
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/paced-load: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
