/**
 * The one module that spawns processes. It owns cancellation (AbortSignal: SIGINT first so ffmpeg
 * writes its trailers, SIGKILL after a grace period), streaming of stdout/stderr lines, and the
 * translation of exit codes into livectl's typed errors. Never builds shell strings.
 */
import {createInterface} from 'node:readline'
import {execa, type ExecaError} from 'execa'

import {CancelledError, ExternalError} from './errors.js'

export interface RunOptions {
  /** Aborting it stops the process (SIGINT, then SIGKILL after `killGraceMs`) and rejects with CancelledError. */
  signal?: AbortSignal
  /** Called for each stdout line as it arrives (nothing is buffered when set). */
  onStdoutLine?: (line: string) => void
  /** Called for each stderr line as it arrives. */
  onStderrLine?: (line: string) => void
  /** Keep the whole stdout and return it (for small outputs such as ffprobe JSON). */
  captureStdout?: boolean
  /** Lines of stderr kept for the error report. */
  stderrTailLines?: number
  killGraceMs?: number
  cwd?: string
  env?: Record<string, string>
}

export interface RunResult {
  stdout: string
  stderrTail: string
}

/** A name for error messages: the basename of the binary, e.g. "ffmpeg". */
function toolName(file: string): string {
  return file.split('/').pop() ?? file
}

export async function runProcess(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const tailSize = options.stderrTailLines ?? 20
  const stderrTail: string[] = []
  const stdoutChunks: string[] = []

  const subprocess = execa(file, args, {
    cancelSignal: options.signal,
    killSignal: 'SIGINT',
    forceKillAfterDelay: options.killGraceMs ?? 5000,
    buffer: false,
    stdin: 'ignore',
    cwd: options.cwd,
    env: options.env,
    extendEnv: true,
  })

  const stdoutDone = subprocess.stdout
    ? consumeLines(subprocess.stdout, (line) => {
        if (options.captureStdout) stdoutChunks.push(line)
        options.onStdoutLine?.(line)
      })
    : Promise.resolve()
  const stderrDone = subprocess.stderr
    ? consumeLines(subprocess.stderr, (line) => {
        stderrTail.push(line)
        if (stderrTail.length > tailSize) stderrTail.shift()
        options.onStderrLine?.(line)
      })
    : Promise.resolve()

  try {
    await subprocess
    await Promise.all([stdoutDone, stderrDone])
  } catch (error) {
    await Promise.allSettled([stdoutDone, stderrDone])
    throw translate(error as ExecaError, file, args, stderrTail.join('\n'), options.signal)
  }

  return {stdout: stdoutChunks.join('\n'), stderrTail: stderrTail.join('\n')}
}

function consumeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    const reader = createInterface({input: stream, crlfDelay: Number.POSITIVE_INFINITY})
    reader.on('line', onLine)
    reader.on('close', resolve)
  })
}

function translate(error: ExecaError, file: string, args: readonly string[], stderrTail: string, signal?: AbortSignal) {
  const name = toolName(file)
  const command = [file, ...args]
  if (signal?.aborted || error.isCanceled) {
    return new CancelledError(`${name} was stopped before it finished`, {cause: error})
  }

  if ((error as {code?: string}).code === 'ENOENT') {
    return new ExternalError(`Could not start ${name}: ${file} was not found`, {
      cause: error,
      command,
      hint: 'Run `livectl doctor` to see which ffmpeg/ffprobe livectl uses, or set LIVECTL_FFMPEG / LIVECTL_FFPROBE.',
    })
  }

  const how = error.signal ? `was killed by ${error.signal}` : `exited with code ${error.exitCode ?? 'unknown'}`
  return new ExternalError(`${name} ${how}`, {cause: error, command, stderrTail, signal: error.signal, toolExitCode: error.exitCode})
}
