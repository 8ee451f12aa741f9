/**
 * A Redis database of its own on the local Redis for one test: claimed atomically (SET NX on
 * database 0), so test files running in parallel never share a queue, then emptied. Two files
 * that picked a database at random could land on the same one: one file's workers then took the
 * other's jobs, or its FLUSHDB wiped them.
 */
import {Redis} from 'ioredis'

const REDIS = {host: '127.0.0.1', port: 6379}
/** Database 0 holds the claims; 1-15 are handed out (Redis has 16 by default). */
const FIRST = 1
const LAST = 15
/** A claim outlives a crashed test run by no more than this: the next run can take it again. */
const CLAIM_SECONDS = 20 * 60

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

export async function claimRedisDb(): Promise<TestRedisDb> {
  const owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`
  const db = await withRedis(0, async (claims) => {
    for (let candidate = FIRST; candidate <= LAST; candidate++) {
      if ((await claims.set(claimKey(candidate), owner, 'EX', CLAIM_SECONDS, 'NX')) === 'OK') return candidate
    }

    throw new Error(`No free Redis database on ${REDIS.host}:${REDIS.port} (${FIRST}-${LAST} all claimed by running tests)`)
  })
  await withRedis(db, (data) => data.flushdb())
  return {
    db,
    url: `redis://${REDIS.host}:${REDIS.port}/${db}`,
    release: async () => {
      await withRedis(db, (data) => data.flushdb())
      // Only our own claim: one that expired and was taken by another run stays theirs.
      await withRedis(0, async (claims) => {
        if ((await claims.get(claimKey(db))) === owner) await claims.del(claimKey(db))
      })
    },
  }
}
