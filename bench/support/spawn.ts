/**
 * Running processes for the benchmarks: measured runs (wall time and the peak memory of the whole
 * process tree), quick captures, long-running servers, and stopping them. Node built-ins only;
 * processes are spawned with argument arrays, never shell strings.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {clearTimeout, setTimeout} from 'node:timers'

import {startTreeSampler, type TreeMemory} from './proc.js'
import {formatCommand} from './report.js'

const STDERR_TAIL_CHARS = 4000

export interface Command {
  file: string
  args: string[]
  captureStdout?: boolean
}

export interface RunOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
}

export interface CommandResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
  error?: Error
  /** Killed after it did not stop on the first signal. */
  killed?: boolean
  /** When it exited, on the clock of the caller that asked for it (`now()` of the live benchmarks). */
  at?: number
}

/** A started process and its exit. */
export interface ProcessHandle {
  child: ChildProcess
  exited: Promise<ProcessExit>
}

function waitForClose(child: ChildProcess, captureStdout: boolean | undefined): Promise<CommandResult> {
  let stdout = ''
  let stderr = ''
  if (captureStdout) child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk))
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS)
  })
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({code: -1, signal: null, stdout, stderr: `${stderr}\n${error.message}`}))
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
}

export interface MeasuredRun extends TreeMemory {
  wallSeconds: number
  results: CommandResult[]
}

/**
 * Starts every command at once and waits for all of them. Wall time runs from just before the
 * first spawn to the last exit; memory is sampled over all their process trees together.
 * Throws, with the stderr tail, if any command fails.
 */
export async function runMeasured(commands: readonly Command[], {cwd, env}: RunOptions = {}): Promise<MeasuredRun> {
  const startedAt = performance.now()
  const children = commands.map((command) =>
    spawn(command.file, command.args, {cwd, env, stdio: ['ignore', command.captureStdout ? 'pipe' : 'ignore', 'pipe']}),
  )
  const sampler = startTreeSampler(children.map((child) => child.pid).filter((pid) => pid !== undefined))
  const results = await Promise.all(children.map((child, index) => waitForClose(child, commands[index]?.captureStdout)))
  const wallSeconds = (performance.now() - startedAt) / 1000
  const memory = sampler.stop()

  results.forEach((result, index) => {
    const command = commands[index]
    if (result.code !== 0 && command) {
      throw new Error(`${formatCommand(command.file, command.args)}\nexited with ${result.signal ?? result.code}:\n${result.stderr.trim()}`)
    }
  })

  return {wallSeconds, ...memory, results}
}

/** Runs one quick command and returns its stdout (for -version, ffprobe and the like). */
export async function capture(file: string, args: readonly string[], {cwd, env}: RunOptions = {}): Promise<string> {
  const child = spawn(file, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  const result = await waitForClose(child, true)
  if (result.code !== 0) throw new Error(`${formatCommand(file, args)}\nexited with ${result.signal ?? result.code}:\n${result.stderr.trim()}`)
  return result.stdout
}

/** The first line of `ffmpeg -version`, without the copyright. */
export async function ffmpegVersion(ffmpeg: string, run: RunOptions = {}): Promise<string> {
  return ((await capture(ffmpeg, ['-hide_banner', '-version'], run)).split('\n', 1)[0] ?? '').replace(/\s+Copyright.*$/, '')
}

/**
 * Stops a process: `signal`, then SIGKILL if it has not exited within `graceMs`. Resolves with
 * its exit (`killed` when it took SIGKILL); at once if it has already exited.
 */
export async function stopProcess(handle: ProcessHandle, signal: NodeJS.Signals = 'SIGINT', graceMs = 3000): Promise<ProcessExit> {
  if (handle.child.exitCode !== null || handle.child.signalCode !== null) return handle.exited
  handle.child.kill(signal)
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs)
  })
  const first = await Promise.race([handle.exited, late])
  clearTimeout(timer)
  if (first !== 'late') return first
  handle.child.kill('SIGKILL')
  return {...(await handle.exited), killed: true}
}

export interface ServerOptions extends RunOptions {
  /** Where the server says it is ready. */
  stream?: 'stdout' | 'stderr'
  /** Matches the ready line; its first group is the server's URL. */
  pattern: RegExp
  readyTimeoutMs?: number
  stopTimeoutMs?: number
}

export interface RunningServer {
  url: string
  child: ChildProcess
  /** SIGTERM, then SIGKILL after `stopTimeoutMs`. */
  stop(): Promise<ProcessExit>
  /** The last few thousand characters it printed. */
  output(): string
}

/**
 * Starts a long-running server process and resolves once a line of its `stream` ('stdout' or
 * 'stderr') matches `pattern`; the pattern's first group is returned as `url`. `stop()` sends
 * SIGTERM, waits for the exit, and kills it if it takes longer than `stopTimeoutMs`.
 */
export function startServerProcess(
  file: string,
  args: readonly string[],
  {cwd, env, stream = 'stdout', pattern, readyTimeoutMs = 60_000, stopTimeoutMs = 10_000}: ServerOptions,
): Promise<RunningServer> {
  const child = spawn(file, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  let output = ''
  let url: string | undefined
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on('error', (error) => resolve({code: -1, signal: null, error}))
    child.on('exit', (code, signal) => resolve({code, signal}))
  })
  const stop = () => stopProcess({child, exited}, 'SIGTERM', stopTimeoutMs)
  const keep = (chunk: Buffer) => {
    output = (output + chunk).slice(-STDERR_TAIL_CHARS)
  }

  const ready = new Promise<RunningServer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${formatCommand(file, args)}\ndid not report ready within ${readyTimeoutMs} ms:\n${output.trim()}`)), readyTimeoutMs)
    const onData = (chunk: Buffer) => {
      keep(chunk)
      const match = url === undefined ? pattern.exec(output) : null
      if (match) {
        url = match[1] ?? match[0]
        clearTimeout(timer)
        resolve({url, child, stop, output: () => output})
      }
    }

    // Both streams are drained so that a chatty server never blocks on a full pipe.
    child.stdout.on('data', stream === 'stdout' ? onData : keep)
    child.stderr.on('data', stream === 'stderr' ? onData : keep)
    void exited.then((result) => {
      clearTimeout(timer)
      if (url === undefined) reject(new Error(`${formatCommand(file, args)}\nexited with ${result.signal ?? result.code} before it was ready:\n${output.trim()}`))
    })
  })
  return ready.catch(async (error: unknown) => {
    await stop()
    throw error
  })
}

/** A copy of the environment without the variables whose names start with `prefix`, except those in `keep`. */
export function environmentWithout(prefix: string, keep: readonly string[] = []): NodeJS.ProcessEnv {
  const env = {...process.env}
  for (const name of Object.keys(env)) {
    if (name.startsWith(prefix) && !keep.includes(name)) delete env[name]
  }

  return env
}

/** The environment livectl runs in under a benchmark: no LIVECTL_* setting that would change its defaults, the tool paths kept. */
export function benchEnvironment(): NodeJS.ProcessEnv {
  return environmentWithout('LIVECTL_', ['LIVECTL_FFMPEG', 'LIVECTL_FFPROBE'])
}
