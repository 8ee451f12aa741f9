/**
 * The VOD job queue: BullMQ on Redis. `livectl run --queue` (and `POST /videos` on a `serve` with
 * --queue) enqueue job specs (queue-client.ts); `livectl worker` runs them with runVodJob
 * (worker.ts), any number of workers on any number of machines, and encodes the chunks of
 * chunked jobs (chunk-fanout.ts sends them, chunk-worker.ts encodes them). Redis is for scale, not
 * a requirement: without --queue everything runs in the process that asked.
 *
 * - A job's id is its video id: enqueueing a video already waiting or running adds nothing.
 * - External failures (storage, database, a crashed ffmpeg) are retried with exponential backoff;
 *   user errors (a corrupt input, a bad ladder, job data that is not a job spec) fail once
 *   (UnrecoverableError), as do bugs.
 * - A worker that dies (kill -9) stops renewing its job's lock; after the lock expires another
 *   worker takes the job again (BullMQ's stalled-job check). The job's stages are idempotent and
 *   the publish writes the same keys and the same catalog row, so nothing is duplicated.
 * - A worker asked to stop (SIGTERM) aborts its running jobs and puts them back in the queue
 *   without counting an attempt.
 *
 * This module holds what the four share: the queues' names and how their jobs are kept, retried
 * and locked.
 */
import {DelayedError, type Job} from 'bullmq'

import {parseRedisUrl} from './redis-url.js'

export const QUEUE_NAME = 'livectl-vod'
/** Chunks of chunked encodes: a queue of their own, so a worker whose VOD job waits for its chunks still encodes chunks. */
export const CHUNK_QUEUE_NAME = 'livectl-chunks'
export const VOD_JOB_NAME = 'vod'
export const CHUNK_JOB_NAME = 'chunk'
export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BACKOFF_MS = 5000

/** How every job is kept and retried: external failures with exponential backoff. */
export function jobSettings(attempts = DEFAULT_ATTEMPTS, backoffMs = DEFAULT_BACKOFF_MS) {
  return {attempts, backoff: {type: 'exponential', delay: backoffMs}, removeOnComplete: {count: 1000}, removeOnFail: {count: 1000}}
}

export interface WorkerSettingsOptions {
  redisUrl: string
  concurrency?: number
  /** How long a job's lock lasts without renewal: a dead worker's job is taken again after about this (BullMQ default 30 s). */
  lockDurationMs?: number
  /** How often workers look for jobs whose worker died (BullMQ default 30 s). */
  stalledIntervalMs?: number
}

/** Both of a worker's BullMQ workers (VOD jobs, chunks): its concurrency, lock and stalled-job check. */
export function workerSettings(options: WorkerSettingsOptions) {
  return {
    connection: parseRedisUrl(options.redisUrl, {blocking: true}),
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 2,
    autorun: false,
  }
}

/** A job a stopping worker was running, back in the queue with its attempts untouched: another worker (or this one restarted) continues it. Throw what it returns. */
export async function putBack(job: Job, token: string | undefined): Promise<DelayedError> {
  await job.moveToDelayed(Date.now(), token)
  return new DelayedError()
}
