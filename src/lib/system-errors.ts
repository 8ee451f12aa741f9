/**
 * Failures of the world around livectl, said in words: a path that cannot be written, a port that
 * is taken, a disk that is full. Each becomes a user error (exit 2: the user can fix it) or an
 * external error (exit 3) naming the resource and what to do, never a "bug in livectl".
 */
import {ExternalError, type LivectlError, UserError} from './errors.js'

/** What Node puts on the errors of system calls (fs, net). */
export interface SystemErrorLike {
  code?: string
  syscall?: string
  path?: string
  address?: string
  port?: number
  message?: string
}

export function isSystemError(error: unknown): error is Error & SystemErrorLike {
  return error instanceof Error && typeof (error as SystemErrorLike).code === 'string' && typeof (error as SystemErrorLike).syscall === 'string'
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM'])
const SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG'])

/**
 * A file-system failure on `target` while trying to `action` it ("create the directory", "write").
 * Permissions, read-only file systems and paths that cannot exist are the user's to fix; a full
 * disk or an I/O error is the machine's.
 */
export function fileSystemError(error: unknown, target: string, action: string): LivectlError {
  const code = (error as SystemErrorLike | null)?.code ?? 'unknown'
  const options = {cause: error}
  if (PERMISSION_CODES.has(code)) {
    return new UserError(`Permission denied: cannot ${action} ${target}`, {...options, hint: 'Check the owner and permissions of that path, or choose another location (--data-dir, -o, --to).'})
  }

  if (code === 'EROFS') return new UserError(`Cannot ${action} ${target}: the file system is read-only`, {...options, hint: 'Choose a location on a writable file system.'})
  if (code === 'ENOTDIR') return new UserError(`Cannot ${action} ${target}: a part of that path is a file, not a directory`, {...options, hint: 'Choose another location.'})
  if (code === 'EISDIR') return new UserError(`Cannot ${action} ${target}: it is a directory`, {...options, hint: 'Give the path of a file.'})
  if (code === 'ENAMETOOLONG') return new UserError(`Cannot ${action} ${target}: the path is too long`, {...options, hint: 'Choose a shorter path.'})
  if (code === 'ENOENT') return new UserError(`Cannot ${action} ${target}: no such file or directory, and it cannot be created there`, {...options, hint: 'Check the path; some file systems (such as /proc or /sys) do not take new files.'})
  if (code === 'EEXIST') return new UserError(`Cannot ${action} ${target}: something else already exists there`, {...options, hint: 'Remove it or choose another location.'})
  if (SPACE_CODES.has(code)) return new ExternalError(`No space left to ${action} ${target} (${code})`, {...options, hint: 'Free some space on that disk (or raise the quota), then run the command again.'})
  return new ExternalError(`Cannot ${action} ${target}: ${(error as Error | undefined)?.message ?? code}`, {...options, hint: 'Check the disk and the file system.'})
}

/** A server that could not listen on `host:port`; `flag` names the option that sets the port. */
export function listenError(error: unknown, what: string, host: string, port: number, flag: string): LivectlError {
  const code = (error as SystemErrorLike | null)?.code
  const where = `${host}:${port}`
  if (code === 'EADDRINUSE') return new UserError(`Cannot start the ${what}: ${where} is already in use`, {cause: error, hint: `Stop what is listening there, or pick another port with ${flag} (0 picks a free one).`})
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`Cannot start the ${what}: not allowed to listen on ${where}`, {cause: error, hint: `Ports below 1024 need privileges: pick another port with ${flag}.`})
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new UserError(`Cannot start the ${what}: ${host} is not an address of this machine`, {cause: error, hint: 'Use an address this machine has (127.0.0.1, 0.0.0.0, or one of its interfaces) with --host.'})
  return new ExternalError(`Cannot start the ${what} on ${where}: ${(error as Error | undefined)?.message ?? code}`, {cause: error})
}

/**
 * The last line of defence: a system error that reached the command layer unclassified still
 * names what failed rather than calling itself a bug. Boundaries should classify with context
 * (fileSystemError, listenError) before it gets here.
 */
export function classifySystemError(error: Error & SystemErrorLike): LivectlError {
  if (error.syscall === 'listen' || error.syscall === 'bind') return listenError(error, 'server', error.address ?? 'the address', error.port ?? 0, 'the port option')
  if (error.syscall === 'connect' || error.syscall === 'getaddrinfo') {
    const target = error.address ? `${error.address}${error.port ? `:${error.port}` : ''}` : 'a server'
    return new ExternalError(`Cannot connect to ${target}: ${error.code}`, {cause: error, hint: 'Check that the service is running and its address is right.', retryable: true})
  }

  return fileSystemError(error, error.path ?? 'a file', error.syscall ?? 'use')
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET'])

/**
 * A request to `service` at `endpoint` that never got an answer (refused, reset, no such host,
 * timed out), as an external error that may pass; undefined for any other error. Looks through
 * `cause`, where fetch keeps the system error.
 */
export function connectionError(error: unknown, service: string, endpoint: string): LivectlError | undefined {
  for (let current = error, depth = 0; current && depth < 4; current = (current as {cause?: unknown}).cause, depth++) {
    const code = (current as SystemErrorLike).code
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
      return new ExternalError(`Cannot reach ${service} at ${endpoint}: ${code}`, {cause: error, retryable: true, hint: `Check that ${service} is running and that its address is right.`})
    }

    if ((current as Error).name === 'TimeoutError') return new ExternalError(`${service} at ${endpoint} did not answer in time`, {cause: error, retryable: true, hint: `Check that ${service} is running and reachable.`})
  }

  return undefined
}
