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

export async function claimRedisDb(): Promise<TestRedisDb> {
  const claims = new Redis({...REDIS, db: 0, lazyConnect: true, maxRetriesPerRequest: 1})
  await claims.connect()
  try {
    const owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`
    for (let db = FIRST; db <= LAST; db++) {
      if ((await claims.set(`livectl-test:db:${db}`, owner, 'EX', CLAIM_SECONDS, 'NX')) !== 'OK') continue
      const data = new Redis({...REDIS, db, lazyConnect: true, maxRetriesPerRequest: 1})
      await data.connect()
      await data.flushdb()
      data.disconnect()
      return {db, url: `redis://${REDIS.host}:${REDIS.port}/${db}`, release: () => releaseRedisDb(db, owner)}
    }
  } finally {
    claims.disconnect()
  }

  throw new Error(`No free Redis database on ${REDIS.host}:${REDIS.port} (${FIRST}-${LAST} all claimed by running tests)`)
}

async function releaseRedisDb(db: number, owner: string): Promise<void> {
  const data = new Redis({...REDIS, db, lazyConnect: true, maxRetriesPerRequest: 1})
  await data.connect()
  await data.flushdb()
  data.disconnect()
  const claims = new Redis({...REDIS, db: 0, lazyConnect: true, maxRetriesPerRequest: 1})
  await claims.connect()
  // Only our own claim: one that expired and was taken by another run stays theirs.
  if ((await claims.get(`livectl-test:db:${db}`)) === owner) await claims.del(`livectl-test:db:${db}`)
  claims.disconnect()
}
