/**
 * Redis failures, recognised by what the error is (its system error code, ioredis's error class)
 * rather than by the wording of its message: one that means "Redis cannot be reached" becomes an
 * ExternalError (exit 3) naming the queue's URL, without its password, and what to check.
 */
import {ExternalError} from '../errors.js'
import {redactQueueUrl} from './redis-url.js'

/** Socket and name-lookup failures: nothing answered at that address. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED'])

/**
 * ioredis's errors for a connection it has given up on: MaxRetriesPerRequestError (a command was
 * tried on every reconnect allowed), ClusterAllFailedError (no node of a cluster answered).
 */
const UNREACHABLE_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError'])

/**
 * ioredis rejects the commands waiting on a connection it closed, or on one not yet open with the
 * offline queue off, with plain Errors that carry neither code nor class: these exact messages
 * (ioredis's CONNECTION_CLOSED_ERROR_MSG and its offline-queue refusal) are all there is to go on.
 */
const UNREACHABLE_MESSAGES = new Set(['Connection is closed.', 'Stream isn\'t writeable and enableOfflineQueue options is false'])

interface ErrorLike {
  code?: unknown
  name?: unknown
  message?: unknown
  cause?: unknown
  errors?: unknown
}

/**
 * Whether the error says Redis cannot be reached. Looks through `cause` and the `errors` of an
 * AggregateError (Node's connect tries every address of a host and reports them together).
 */
export function isRedisUnreachable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false
  const {code, name, message, cause, errors} = error as ErrorLike
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) return true
  if (typeof name === 'string' && UNREACHABLE_ERROR_NAMES.has(name)) return true
  if (typeof message === 'string' && UNREACHABLE_MESSAGES.has(message)) return true
  if (Array.isArray(errors) && errors.some((inner) => isRedisUnreachable(inner, depth + 1))) return true
  return isRedisUnreachable(cause, depth + 1)
}

/** What a Redis that cannot be reached becomes: an external failure naming it (without credentials), worth retrying later. */
export function queueUnavailable(url: string, error: unknown): ExternalError {
  const detail = error instanceof Error ? describeCause(error) : String(error)
  return new ExternalError(`The job queue at ${redactQueueUrl(url)} cannot be reached: ${detail}`, {
    hint: 'Check that Redis runs there (redis-cli -u URL ping) and --queue / LIVECTL_QUEUE.',
    cause: error,
    retryable: true,
  })
}

/** An ExternalError naming the queue when the error says Redis cannot be reached; undefined for any other error. */
export function classifyRedisError(url: string, error: unknown): ExternalError | undefined {
  return isRedisUnreachable(error) ? queueUnavailable(url, error) : undefined
}

/** The message, or for an AggregateError (whose message is empty) its first inner one. */
function describeCause(error: Error): string {
  if (error.message) return error.message
  const inner = (error as ErrorLike).errors
  if (Array.isArray(inner) && inner[0] instanceof Error && inner[0].message) return inner[0].message
  const code = (error as ErrorLike).code
  return typeof code === 'string' ? code : error.name
}
