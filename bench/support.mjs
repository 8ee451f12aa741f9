/**
 * Measuring helpers for the benchmarks: run processes with wall time and the peak memory of their
 * whole process tree, simple statistics, machine facts, and BENCHMARKS.md section editing.
 * Node built-ins only; processes are spawned with argument arrays, never shell strings.
 */
import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import net from 'node:net'
import http from 'node:http'
import os from 'node:os'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {clearInterval, clearTimeout, setInterval, setTimeout} from 'node:timers'

export const SAMPLE_INTERVAL_MS = 50
const STDERR_TAIL_CHARS = 4000
const KIB_PER_MB = 1024

/** pid -> parent pid for every process in /proc. */
function readParentPids() {
  const parents = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // exited while we looked
    }

    // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' are fixed: state, ppid, ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    parents.set(Number(entry), Number(fields[1]))
  }

  return parents
}

/**
 * The roots and all their descendants. Scans /proc for parent pids because
 * /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN, which this kernel lacks.
 */
export function processTree(rootPids) {
  const children = new Map()
  for (const [pid, parent] of readParentPids()) {
    if (!children.has(parent)) children.set(parent, [])
    children.get(parent).push(pid)
  }

  const tree = []
  const pending = [...rootPids]
  while (pending.length > 0) {
    const pid = pending.pop()
    tree.push(pid)
    pending.push(...(children.get(pid) ?? []))
  }

  return tree
}

/** VmRSS (now) and VmHWM (the process's own peak) in KiB; undefined once the process is gone or a zombie. */
export function readMemoryKib(pid) {
  let status
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }

  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status)
  if (!rss) return undefined
  return {rssKib: Number(rss[1]), hwmKib: hwm ? Number(hwm[1]) : Number(rss[1])}
}

/**
 * Samples the total RSS of the process trees under `rootPids` every `intervalMs` until stopped.
 * Also keeps each process's own VmHWM: their sum is an upper bound on the true peak total that
 * cannot miss a short spike between two samples.
 */
export function startTreeSampler(rootPids, intervalMs = SAMPLE_INTERVAL_MS) {
  const peakHwmKibByPid = new Map()
  let peakTotalKib = 0
  let samples = 0
  const sample = () => {
    let totalKib = 0
    for (const pid of processTree(rootPids)) {
      const memory = readMemoryKib(pid)
      if (!memory) continue
      totalKib += memory.rssKib
      peakHwmKibByPid.set(pid, Math.max(peakHwmKibByPid.get(pid) ?? 0, memory.hwmKib))
    }

    peakTotalKib = Math.max(peakTotalKib, totalKib)
    samples += 1
  }

  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      let hwmSumKib = 0
      for (const value of peakHwmKibByPid.values()) hwmSumKib += value
      return {peakRssMb: peakTotalKib / KIB_PER_MB, hwmSumMb: hwmSumKib / KIB_PER_MB, samples, processes: peakHwmKibByPid.size}
    },
  }
}

function waitForClose(child, captureStdout) {
  let stdout = ''
  let stderr = ''
  if (captureStdout) child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)
  })
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({code: -1, signal: null, stdout, stderr: `${stderr}\n${error.message}`}))
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
}

/**
 * Starts every command at once and waits for all of them. Wall time runs from just before the
 * first spawn to the last exit; memory is sampled over all their process trees together.
 * Throws, with the stderr tail, if any command fails.
 */
export async function runMeasured(commands, {cwd, env} = {}) {
  const startedAt = performance.now()
  const children = commands.map((command) =>
    spawn(command.file, command.args, {cwd, env, stdio: ['ignore', command.captureStdout ? 'pipe' : 'ignore', 'pipe']}),
  )
  const sampler = startTreeSampler(children.map((child) => child.pid).filter((pid) => pid !== undefined))
  const results = await Promise.all(children.map((child, index) => waitForClose(child, commands[index].captureStdout)))
  const wallSeconds = (performance.now() - startedAt) / 1000
  const memory = sampler.stop()

  results.forEach((result, index) => {
    if (result.code !== 0) {
      const {file, args} = commands[index]
      throw new Error(
        `${formatCommand(file, args)}\nexited with ${result.signal ?? result.code}:\n${result.stderr.trim()}`,
      )
    }
  })

  return {wallSeconds, ...memory, results}
}

/** Runs one quick command and returns its stdout (for -version, ffprobe and the like). */
export async function capture(file, args, {cwd, env} = {}) {
  const child = spawn(file, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  const result = await waitForClose(child, true)
  if (result.code !== 0) throw new Error(`${formatCommand(file, args)}\nexited with ${result.signal ?? result.code}:\n${result.stderr.trim()}`)
  return result.stdout
}

/** Least-squares slope of [x, y] points, or undefined with fewer than 3 or no spread in x. */
export function slope(points) {
  if (points.length < 3) return undefined
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length
  let numerator = 0
  let denominator = 0
  for (const [x, y] of points) {
    numerator += (x - meanX) * (y - meanY)
    denominator += (x - meanX) ** 2
  }

  return denominator === 0 ? undefined : numerator / denominator
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export function summarize(values) {
  return {median: median(values), min: Math.min(...values), max: Math.max(...values)}
}

/** A command as one might paste it into a POSIX shell (for the report only; nothing runs it). */
export function formatCommand(file, args) {
  const quote = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)
  return [file, ...args].map(quote).join(' ')
}

export function machineFacts() {
  let cpuModel = 'unknown'
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel
  } catch {
    // not Linux: keep "unknown"
  }

  return {
    cores: os.availableParallelism(),
    cpuModel,
    memoryGib: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  }
}

export function loadAverage() {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')
}

const TITLE = '# Benchmarks'
const INTRO =
  'Numbers here are produced by the scripts in `bench/` (`npm run bench:NAME`), which write their own section of this file. ' +
  'Each benchmark generates its own input, runs the contenders alternately in one session so that drift in machine load ' +
  'affects all of them alike, and reports medians with the min and max. Wall time is measured from spawn to exit; peak ' +
  'memory is the highest total RSS of the whole process tree, sampled every 50 ms from /proc. Absolute times depend on ' +
  'the machine named in each section; compare ratios, not seconds, across machines.'

/**
 * Writes `section` (starting with its own `## Heading` line) into the markdown file, replacing the
 * section with the same heading up to the next `## ` heading, or appending it. Creates the file
 * with a title and an introduction when it is missing.
 */
export async function writeSection(file, section) {
  let text
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
    text = `${TITLE}\n\n${INTRO}\n`
  }

  const heading = section.split('\n', 1)[0].trim()
  const lines = text.split('\n')
  const start = lines.findIndex((line) => line.trim() === heading)
  const body = section.trimEnd().split('\n')
  if (start === -1) {
    while (lines.length > 0 && lines.at(-1) === '') lines.pop()
    lines.push('', ...body, '')
  } else {
    let end = lines.findIndex((line, index) => index > start && /^## /.test(line))
    if (end === -1) end = lines.length
    const after = lines.slice(end)
    lines.splice(start, end - start, ...body, ...(after.length > 0 ? [''] : []))
    if (after.length === 0) lines.push('')
  }

  await writeFile(file, lines.join('\n'))
}

/** /proc reports CPU times in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const TICKS_PER_SECOND = 100

/** User plus system CPU seconds a live process has used so far; undefined once it is gone. */
export function processCpuSeconds(pid) {
  let stat
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }

  // After the command name: state (field 3) ... utime (14), stime (15).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/** Busy and total CPU ticks of the whole machine, all cores together (the first line of /proc/stat). */
export function machineCpuTicks() {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/)
  const ticks = values.slice(0, 8).map(Number) // user nice system idle iowait irq softirq steal
  const total = ticks.reduce((sum, value) => sum + value, 0)
  return {busy: total - ticks[3] - ticks[4], total}
}

/**
 * Starts a long-running server process and resolves once a line of its `stream` ('stdout' or
 * 'stderr') matches `pattern`; the pattern's first group is returned as `url`. `stop()` sends
 * SIGTERM, waits for the exit, and kills it if it takes longer than `stopTimeoutMs`.
 */
export function startServerProcess(file, args, {cwd, env, stream = 'stdout', pattern, readyTimeoutMs = 60_000, stopTimeoutMs = 10_000}) {
  const child = spawn(file, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  let url
  const exited = new Promise((resolve) => {
    child.on('error', (error) => resolve({code: -1, signal: null, error}))
    child.on('exit', (code, signal) => resolve({code, signal}))
  })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return exited
    child.kill('SIGTERM')
    let timer
    const late = new Promise((resolve) => {
      timer = setTimeout(() => resolve('late'), stopTimeoutMs)
    })
    const first = await Promise.race([exited, late])
    clearTimeout(timer)
    if (first !== 'late') return first
    child.kill('SIGKILL')
    return {...(await exited), killed: true}
  }

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${formatCommand(file, args)}\ndid not report ready within ${readyTimeoutMs} ms:\n${output.trim()}`)), readyTimeoutMs)
    const onData = (chunk) => {
      output = (output + chunk).slice(-STDERR_TAIL_CHARS)
      const match = url === undefined ? pattern.exec(output) : null
      if (match) {
        url = match[1]
        clearTimeout(timer)
        resolve({url, child, stop, output: () => output})
      }
    }

    // Both streams are drained so that a chatty server never blocks on a full pipe.
    child.stdout.on('data', stream === 'stdout' ? onData : (chunk) => (output = (output + chunk).slice(-STDERR_TAIL_CHARS)))
    child.stderr.on('data', stream === 'stderr' ? onData : (chunk) => (output = (output + chunk).slice(-STDERR_TAIL_CHARS)))
    void exited.then((result) => {
      clearTimeout(timer)
      if (url === undefined) reject(new Error(`${formatCommand(file, args)}\nexited with ${result.signal ?? result.code} before it was ready:\n${output.trim()}`))
    })
  })
  return ready.catch(async (error) => {
    await stop()
    throw error
  })
}

/** One HTTP request with Node's own client: the status and the body as text. */
export function httpRequest(url, {method = 'GET', headers = {}, body} = {}) {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {method, headers}, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => (text += chunk))
      response.on('end', () => resolve({status: response.statusCode, headers: response.headers, body: text}))
      response.on('error', reject)
    })
    request.on('error', reject)
    request.end(body)
  })
}

/** A copy of the environment without the variables whose names start with `prefix`, except those in `keep`. */
export function environmentWithout(prefix, keep = []) {
  const env = {...process.env}
  for (const name of Object.keys(env)) {
    if (name.startsWith(prefix) && !keep.includes(name)) delete env[name]
  }

  return env
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address()
      server.close(() => resolve(port))
    })
  })
}
