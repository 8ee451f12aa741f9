/**
 * A Redis database of its own for one test: claimed atomically (SET NX on database 0), so test
 * files running in parallel never share a queue, then emptied. Two files that picked a database at
 * random could land on the same one: one file's workers then took the other's jobs, or its FLUSHDB
 * wiped them. The server is LIVECTL_TEST_REDIS_URL (default the local redis://127.0.0.1:6379);
 * under CI=true an unreachable one is a failure, never a skip; elsewhere the queue suites skip.
 */
import {Redis} from 'ioredis'

export const REDIS_TEST_URL = process.env.LIVECTL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const REDIS = {host: new URL(REDIS_TEST_URL).hostname, port: Number(new URL(REDIS_TEST_URL).port || 6379)}
/** Database 0 holds the claims; 1-15 are handed out (Redis has 16 by default). */
const FIRST = 1
const LAST = 15
/**
 * A claim lives this long unless renewed; the test that holds it renews it every third of that.
 * So a claim left by a crashed run is free again within half a minute.
 */
const CLAIM_SECONDS = 30
const RENEW_MS = (CLAIM_SECONDS * 1000) / 3

export async function redisReachable(): Promise<boolean> {
  const redis = new Redis({...REDIS, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null})
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

/** True when the queue suites must run: Redis answers, or CI demands it (and the suite then fails). */
export const runRedisSuites = (await redisReachable()) || Boolean(process.env.CI && process.env.CI !== 'false')

export interface TestRedisDb {
  db: number
  /** redis://127.0.0.1:6379/N */
  url: string
  /** Empties the database and gives it back. */
  release: () => Promise<void>
}

/** One short connection to database `db` of the local Redis, closed whatever `use` does. */
async function withRedis<T>(db: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({...REDIS, db, lazyConnect: true, maxRetriesPerRequest: 1})
  await redis.connect()
  try {
    return await use(redis)
  } finally {
    redis.disconnect()
  }
}

const claimKey = (db: number) => `livectl-test:db:${db}`
const RENEW_IF_OWNER = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"

export async function claimRedisDb(): Promise<TestRedisDb> {
  const owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`
  const db = await withRedis(0, async (claims) => {
    for (let candidate = FIRST; candidate <= LAST; candidate++) {
      if ((await claims.set(claimKey(candidate), owner, 'EX', CLAIM_SECONDS, 'NX')) === 'OK') return candidate
    }

    throw new Error(`No free Redis database on ${REDIS.host}:${REDIS.port} (${FIRST}-${LAST} all claimed by running tests)`)
  })
  await withRedis(db, (data) => data.flushdb())
  // Renewed while held, on its own connection: a claim whose test died expires within CLAIM_SECONDS.
  const renewer = new Redis({...REDIS, db: 0, maxRetriesPerRequest: 1})
  const renew = setInterval(() => {
    // Only while it is still ours (one that expired meanwhile may be another run's now).
    renewer.eval(RENEW_IF_OWNER, 1, claimKey(db), owner, String(CLAIM_SECONDS)).catch(() => undefined)
  }, RENEW_MS)
  renew.unref()
  return {
    db,
    url: `redis://${REDIS.host}:${REDIS.port}/${db}`,
    release: async () => {
      clearInterval(renew)
      renewer.disconnect()
      await withRedis(db, (data) => data.flushdb())
      // Only our own claim: one that expired and was taken by another run stays theirs.
      await withRedis(0, async (claims) => {
        if ((await claims.get(claimKey(db))) === owner) await claims.del(claimKey(db))
      })
    },
  }
}
