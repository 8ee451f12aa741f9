/**
 * The three kinds of failure livectl reports, and how each becomes one message and one exit code.
 * Everything thrown inside src/lib is one of these; anything else reaching the command layer is a bug.
 */

export const ExitCode = {
  ok: 0,
  /** Bad flag, missing file, unreadable input: the user can fix it. */
  user: 2,
  /** ffmpeg, S3, MySQL... failed: the message keeps the command and the tail of its stderr. */
  external: 3,
  /** Interrupted by SIGINT/SIGTERM (128 + SIGINT). */
  cancelled: 130,
  /** A bug in livectl (EX_SOFTWARE). */
  bug: 70,
} as const

export type ErrorKind = 'user' | 'external' | 'cancelled' | 'bug'

export abstract class LivectlError extends Error {
  abstract readonly kind: ErrorKind
  abstract readonly exitCode: number
  /** What the user can do about it, printed after the message. */
  readonly hint?: string

  constructor(message: string, options: {hint?: string; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = new.target.name
    this.hint = options.hint
  }
}

/** The user can fix this: bad input, bad flag, missing file. */
export class UserError extends LivectlError {
  readonly kind = 'user'
  readonly exitCode = ExitCode.user
}

/** An external tool or service failed. */
export class ExternalError extends LivectlError {
  readonly kind = 'external'
  readonly exitCode = ExitCode.external
  /** The command that failed, as an argv, for the report. */
  readonly command?: string[]
  /** The last lines the tool wrote to stderr. */
  readonly stderrTail?: string
  /** The signal that ended the tool (a crash such as SIGSEGV, or a kill from outside), when one did. */
  readonly signal?: NodeJS.Signals
  /** The tool's own exit status, when it exited by itself. */
  readonly toolExitCode?: number

  /** A passing failure (5xx, throttling, a dropped connection): trying again may work. */
  readonly retryable: boolean

  constructor(
    message: string,
    options: {hint?: string; cause?: unknown; command?: string[]; stderrTail?: string; signal?: NodeJS.Signals; toolExitCode?: number; retryable?: boolean} = {},
  ) {
    super(message, options)
    this.command = options.command
    this.stderrTail = options.stderrTail
    this.signal = options.signal
    this.toolExitCode = options.toolExitCode
    this.retryable = options.retryable ?? false
  }
}

/** The work was interrupted on request (Ctrl-C, SIGTERM, an aborted AbortSignal). */
export class CancelledError extends LivectlError {
  readonly kind = 'cancelled'
  readonly exitCode = ExitCode.cancelled
}

/** Something livectl itself got wrong. */
export class BugError extends LivectlError {
  readonly kind = 'bug'
  readonly exitCode = ExitCode.bug
}

export interface ErrorReport {
  kind: ErrorKind
  message: string
  hint?: string
  exitCode: number
  command?: string[]
  stderrTail?: string
}

/** The single place that turns any thrown value into what the user sees. */
export function toErrorReport(error: unknown): ErrorReport {
  if (error instanceof ExternalError) {
    return {
      kind: error.kind,
      message: error.message,
      hint: error.hint,
      exitCode: error.exitCode,
      command: error.command,
      stderrTail: error.stderrTail,
    }
  }

  if (error instanceof LivectlError) {
    return {kind: error.kind, message: error.message, hint: error.hint, exitCode: error.exitCode}
  }

  const message = error instanceof Error ? (error.stack ?? error.message) : String(error)
  return {
    kind: 'bug',
    message: `Unexpected error (this is a bug in livectl): ${message}`,
    hint: 'Please report it with the command you ran.',
    exitCode: ExitCode.bug,
  }
}

/** Human text for stderr: message, then what failed, then the hint. */
export function formatErrorReport(report: ErrorReport): string {
  const lines = [`Error: ${report.message}`]
  if (report.command) lines.push(`  command: ${report.command.join(' ')}`)
  if (report.stderrTail) lines.push(...report.stderrTail.split('\n').map((line) => `  | ${line}`))
  if (report.hint) lines.push(`  ${report.hint}`)
  return lines.join('\n')
}

export function throwIfAborted(signal: AbortSignal | undefined, what = 'Operation'): void {
  if (signal?.aborted) throw new CancelledError(`${what} cancelled`)
}

/** A service livectl depends on (the database) cannot be reached right now; retrying later may work. */
export class ServiceUnavailableError extends ExternalError {}
