/** The job queue's Redis URL: parsed into BullMQ's connection options, and shown without credentials. Loads no client. */
import {UserError} from '../errors.js'

export interface RedisConnection {
  host: string
  port: number
  username?: string
  password?: string
  db?: number
  tls?: object
  /** Workers need null (BullMQ blocks on Redis); queues fail fast instead of waiting forever. */
  maxRetriesPerRequest: number | null
  /** Give up connecting after a few tries: an unreachable Redis is an error, not a hang. */
  retryStrategy: (times: number) => number | null
  enableOfflineQueue?: boolean
  lazyConnect?: boolean
}

/** redis://[user:pass@]host:port[/db] or rediss:// for TLS. */
export function parseRedisUrl(url: string, options: {blocking?: boolean} = {}): RedisConnection {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UserError(`Invalid queue URL ${JSON.stringify(url)}`, {hint: 'Use redis://HOST:PORT (or rediss:// for TLS), e.g. redis://127.0.0.1:6379.'})
  }

  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UserError(`Invalid queue URL ${JSON.stringify(url)}: only redis:// and rediss:// are supported`, {hint: 'BullMQ runs on Redis: use redis://HOST:PORT.'})
  }

  const db = parsed.pathname.replace(/^\//, '')
  if (db !== '' && !/^\d+$/.test(db)) throw new UserError(`Invalid Redis database "${db}" in ${url}: use a number`)
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? {username: decodeURIComponent(parsed.username)} : {}),
    ...(parsed.password ? {password: decodeURIComponent(parsed.password)} : {}),
    ...(db !== '' ? {db: Number(db)} : {}),
    ...(parsed.protocol === 'rediss:' ? {tls: {}} : {}),
    maxRetriesPerRequest: options.blocking ? null : 1,
    retryStrategy: options.blocking ? (times) => Math.min(times * 500, 5000) : (times) => (times > 3 ? null : times * 200),
  }
}

/** The URL without its credentials, for messages. */
export function redactQueueUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@')
}
