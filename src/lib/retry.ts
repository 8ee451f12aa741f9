/** Retries with exponential backoff and full jitter for passing failures: throttling, 5xx, dropped connections. */
import {CancelledError, ExternalError} from './errors.js'

const RETRYABLE_NAMES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'TimeoutError'])
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_STREAM_PREMATURE_CLOSE'])

/** True for errors worth another try. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof CancelledError) return false
  if (error instanceof ExternalError) return error.retryable || isRetryable(error.cause)
  if (typeof error !== 'object' || error === null) return false
  const candidate = error as {name?: string; code?: string; $metadata?: {httpStatusCode?: number}; $retryable?: unknown; cause?: unknown; message?: string}
  const status = candidate.$metadata?.httpStatusCode
  if (status !== undefined && (status >= 500 || status === 429)) return true
  if (candidate.$retryable) return true
  if (candidate.name && RETRYABLE_NAMES.has(candidate.name)) return true
  if (candidate.code && RETRYABLE_CODES.has(candidate.code)) return true
  if (/socket hang up|other side closed|fetch failed|ECONNRESET|premature close/i.test(candidate.message ?? '')) return true
  return candidate.cause !== undefined && candidate.cause !== error && isRetryable(candidate.cause)
}

/** Full jitter: a random delay up to min(max, base * 2^attempt). */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt))
}

export interface RetryOptions {
  attempts: number
  baseMs: number
  maxMs: number
  signal?: AbortSignal
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('Cancelled'))
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new CancelledError('Cancelled'))
    }

    signal?.addEventListener('abort', onAbort, {once: true})
  })
}

export async function withRetries<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await work(attempt)
    } catch (error) {
      if (options.signal?.aborted) throw new CancelledError('Cancelled', {cause: error})
      if (attempt + 1 >= options.attempts || !isRetryable(error)) throw error
      const delay = backoffDelayMs(attempt, options.baseMs, options.maxMs)
      options.onRetry?.(error, attempt + 1, delay)
      await (options.sleep ?? sleep)(delay, options.signal)
    }
  }
}
