/**
 * The VOD job queue: BullMQ on Redis. `livectl run --queue` (and `POST /videos` on a `serve` with
 * --queue) enqueue job specs; `livectl worker` runs them with runVodJob, any number of workers on
 * any number of machines. Redis is for scale, not a requirement: without --queue everything runs
 * in the process that asked.
 *
 * - A job's id is its video id: enqueueing a video already waiting or running adds nothing.
 * - External failures (storage, database, a crashed ffmpeg) are retried with exponential backoff;
 *   user errors (a corrupt input, a bad ladder) fail once (UnrecoverableError), as do bugs.
 * - A worker that dies (kill -9) stops renewing its job's lock; after the lock expires another
 *   worker takes the job again (BullMQ's stalled-job check). The job's stages are idempotent and
 *   the publish writes the same keys and the same catalog row, so nothing is duplicated.
 * - A worker asked to stop (SIGTERM) aborts its running jobs and puts them back in the queue
 *   without counting an attempt.
 */
import {DelayedError, type Job, Queue, QueueEvents, UnrecoverableError, Worker} from 'bullmq'

import {CancelledError, ExternalError, toErrorReport, UserError} from '../errors.js'
import {buildChunkArgs, type ChunkEncoder, type ChunkTask} from '../media/chunks.js'
import {mediaTools} from '../media/tools.js'
import {runProcess} from '../process.js'
import type {StorageConfig} from '../storage/open.js'
import {collectSharedChunk, encodeSharedChunk} from './chunk-transfer.js'
import {parseRedisUrl, redactQueueUrl} from './redis-url.js'
import {runVodJob, type VodJobEnvironment, type VodJobResult, type VodJobSpec} from './vod-job.js'

export {parseRedisUrl} from './redis-url.js'

export const QUEUE_NAME = 'livectl-vod'
/** Chunks of chunked encodes: a queue of their own, so a worker whose VOD job waits for its chunks still encodes chunks. */
export const CHUNK_QUEUE_NAME = 'livectl-chunks'
const JOB_NAME = 'vod'
export const DEFAULT_ATTEMPTS = 3
export const DEFAULT_BACKOFF_MS = 5000

/** What a Redis that cannot be reached becomes: an external failure naming it. */
function queueUnavailable(url: string, error: unknown): ExternalError {
  return new ExternalError(`The job queue at ${redactQueueUrl(url)} cannot be reached: ${(error as Error).message}`, {
    hint: 'Check that Redis runs there (redis-cli -u URL ping) and --queue / LIVECTL_QUEUE.',
    cause: error,
    retryable: true,
  })
}

async function withQueue<T>(redisUrl: string, work: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(QUEUE_NAME, {connection: parseRedisUrl(redisUrl)})
  // Connection errors surface through the commands below; without a listener they would also be printed.
  queue.on('error', () => undefined)
  try {
    return await work(queue)
  } catch (error) {
    if (error instanceof UserError || error instanceof ExternalError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || /Connection is closed|max retries|ECONNREFUSED|Stream isn't writeable/i.test((error as Error).message ?? '')) {
      throw queueUnavailable(redisUrl, error)
    }

    throw error
  } finally {
    await queue.close().catch(() => undefined)
  }
}

export interface EnqueueResult {
  queue: string
  jobs: Array<{videoId: string; jobId: string; alreadyQueued: boolean}>
}

export async function enqueueJobs(options: {redisUrl: string; jobs: readonly VodJobSpec[]; attempts?: number; backoffMs?: number}): Promise<EnqueueResult> {
  return withQueue(options.redisUrl, async (queue) => {
    const result: EnqueueResult = {queue: `${redactQueueUrl(options.redisUrl)} (${QUEUE_NAME})`, jobs: []}
    for (const spec of options.jobs) {
      const existing = await queue.getJob(spec.videoId)
      const state = existing ? await existing.getState() : undefined
      if (existing && (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children')) {
        result.jobs.push({videoId: spec.videoId, jobId: existing.id as string, alreadyQueued: true})
        continue
      }

      // A finished or failed job of the same video is replaced: the new one resumes or skips (runVodJob decides).
      if (existing) await existing.remove()
      const job = await queue.add(JOB_NAME, spec, {
        jobId: spec.videoId,
        ...jobSettings(options.attempts, options.backoffMs),
      })
      result.jobs.push({videoId: spec.videoId, jobId: job.id as string, alreadyQueued: false})
    }

    return result
  })
}

export interface JobInfo {
  id: string
  videoId: string
  input: string
  state: string
  /** 0..1 */
  progress: number
  attemptsMade: number
  attempts: number
  failedReason?: string
  createdAt: string
  startedAt?: string
  finishedAt?: string
  /** Seconds from start to finish (the last attempt). */
  seconds?: number
  result?: VodJobResult
}

async function describeJob(job: Job): Promise<JobInfo> {
  const spec = job.data as VodJobSpec
  const progress = typeof job.progress === 'number' ? job.progress : 0
  return {
    id: job.id as string,
    videoId: spec.videoId,
    input: spec.input,
    state: await job.getState(),
    progress,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    ...(job.failedReason ? {failedReason: job.failedReason} : {}),
    createdAt: new Date(job.timestamp).toISOString(),
    ...(job.processedOn ? {startedAt: new Date(job.processedOn).toISOString()} : {}),
    ...(job.finishedOn ? {finishedAt: new Date(job.finishedOn).toISOString()} : {}),
    ...(job.finishedOn && job.processedOn ? {seconds: (job.finishedOn - job.processedOn) / 1000} : {}),
    ...(job.returnvalue ? {result: job.returnvalue as VodJobResult} : {}),
  }
}

export const JOB_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const
export type JobState = (typeof JOB_STATES)[number]

export interface JobList {
  counts: Record<JobState, number>
  jobs: JobInfo[]
}

export async function listJobs(options: {redisUrl: string; states?: readonly JobState[]; limit?: number}): Promise<JobList> {
  return withQueue(options.redisUrl, async (queue) => {
    const counts = (await queue.getJobCounts(...JOB_STATES)) as Record<JobState, number>
    const jobs = await queue.getJobs([...(options.states ?? JOB_STATES)], 0, (options.limit ?? 100) - 1)
    return {counts, jobs: await Promise.all(jobs.filter(Boolean).map(describeJob))}
  })
}

export class JobNotFoundError extends UserError {
  constructor(readonly jobId: string) {
    super(`No job "${jobId}" in the queue`, {hint: 'List jobs with `livectl jobs list --queue URL`.'})
  }
}

export async function showJob(options: {redisUrl: string; id: string}): Promise<JobInfo> {
  return withQueue(options.redisUrl, async (queue) => {
    const job = await queue.getJob(options.id)
    if (!job) throw new JobNotFoundError(options.id)
    return describeJob(job)
  })
}

/** Runs a failed job again (all its attempts anew). */
export async function retryJob(options: {redisUrl: string; id: string}): Promise<JobInfo> {
  return withQueue(options.redisUrl, async (queue) => {
    const job = await queue.getJob(options.id)
    if (!job) throw new JobNotFoundError(options.id)
    const state = await job.getState()
    if (state !== 'failed') throw new UserError(`Job "${options.id}" is ${state}, not failed: only failed jobs can be retried`)
    await job.retry('failed', {resetAttemptsMade: true})
    return describeJob((await queue.getJob(options.id)) as Job)
  })
}

/** Job counts by state, and how long the last completed jobs took: for /metrics. */
export async function queueStatistics(redisUrl: string): Promise<{counts: Record<JobState, number>; durations: number[]}> {
  return withQueue(redisUrl, async (queue) => {
    const counts = (await queue.getJobCounts(...JOB_STATES)) as Record<JobState, number>
    const completed = await queue.getJobs(['completed'], 0, 99)
    const durations = completed.filter((job) => job?.finishedOn && job.processedOn).map((job) => ((job.finishedOn as number) - (job.processedOn as number)) / 1000)
    return {counts, durations}
  })
}

export interface WorkerOptions {
  redisUrl: string
  concurrency?: number
  environment: Omit<VodJobEnvironment, 'onProgress' | 'signal'>
  signal?: AbortSignal
  /** How long a job's lock lasts without renewal: a dead worker's job is taken again after about this (BullMQ default 30 s). */
  lockDurationMs?: number
  /** How often workers look for jobs whose worker died (BullMQ default 30 s). */
  stalledIntervalMs?: number
  onEvent?: (event: WorkerEvent) => void
}

export type WorkerEvent =
  | {type: 'started'; jobId: string; videoId: string; attempt: number}
  | {type: 'completed'; jobId: string; videoId: string; result: VodJobResult}
  | {type: 'failed'; jobId: string; videoId: string; reason: string; willRetry: boolean}
  | {type: 'requeued'; jobId: string; videoId: string}
  | {type: 'error'; message: string}

/** Runs jobs until the signal aborts; then puts the running ones back and returns. */
export async function runWorker(options: WorkerOptions): Promise<{completed: number; failed: number}> {
  const stopping = new AbortController()
  const stop = () => stopping.abort(new CancelledError('The worker is stopping'))
  if (options.signal?.aborted) stop()
  options.signal?.addEventListener('abort', stop, {once: true})
  let completed = 0
  let failed = 0

  const chunks = createQueueChunkEncoder(options.redisUrl, options.environment)
  const processor = async (job: Job, token?: string): Promise<VodJobResult> => {
    const spec = job.data as VodJobSpec
    options.onEvent?.({type: 'started', jobId: job.id as string, videoId: spec.videoId, attempt: job.attemptsMade + 1})
    let lastProgress = 0
    try {
      return await runVodJob(spec, {
        ...options.environment,
        // A chunked job spreads its chunks over every worker (this one included).
        chunkEncoder: chunks.encode,
        signal: stopping.signal,
        onProgress: (progress) => {
          const rounded = Math.floor(progress.fraction * 100) / 100
          if (rounded <= lastProgress) return
          lastProgress = rounded
          job.updateProgress(rounded).catch(() => undefined)
        },
      })
    } catch (error) {
      if (stopping.signal.aborted) {
        options.onEvent?.({type: 'requeued', jobId: job.id as string, videoId: spec.videoId})
        throw await putBack(job, token)
      }

      const report = toErrorReport(error)
      if (report.kind === 'external') throw new Error(report.hint ? `${report.message} (${report.hint})` : report.message, {cause: error})
      // A user error (or a bug) fails the same way every time: no retry.
      throw new UnrecoverableError(report.hint ? `${report.message} (${report.hint})` : report.message)
    }
  }

  const worker = new Worker(QUEUE_NAME, processor, workerSettings(options))
  worker.on('completed', (job, result: VodJobResult) => {
    completed += 1
    options.onEvent?.({type: 'completed', jobId: job.id as string, videoId: (job.data as VodJobSpec).videoId, result})
  })
  worker.on('failed', (job, error) => {
    if (!job || error instanceof DelayedError || error.name === 'DelayedError') return
    const willRetry = !(error instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1)
    if (!willRetry) failed += 1
    options.onEvent?.({type: 'failed', jobId: job.id as string, videoId: (job.data as VodJobSpec).videoId, reason: error.message, willRetry})
  })
  worker.on('error', (error) => options.onEvent?.({type: 'error', message: error.message}))
  const chunkWorker = createChunkWorker(options, stopping.signal)
  chunkWorker.on('error', (error) => options.onEvent?.({type: 'error', message: error.message}))

  // Fail now, naming Redis, when it cannot be reached.
  try {
    await worker.waitUntilReady()
    await chunkWorker.waitUntilReady()
  } catch (error) {
    await worker.close(true).catch(() => undefined)
    await chunkWorker.close(true).catch(() => undefined)
    await chunks.close()
    throw queueUnavailable(options.redisUrl, error)
  }

  const running = Promise.all([worker.run(), chunkWorker.run()])
  await new Promise<void>((resolve) => {
    if (stopping.signal.aborted) resolve()
    else stopping.signal.addEventListener('abort', () => resolve(), {once: true})
  })
  // Running jobs see the abort, put themselves back and end; then the worker closes.
  await worker.close()
  await chunkWorker.close()
  await chunks.close()
  await running.catch(() => undefined)
  options.signal?.removeEventListener('abort', stop)
  return {completed, failed}
}

/**
 * Encodes chunk tasks on the queue's workers and waits for each, fetching the outputs of a shared
 * task (one whose workers may be elsewhere) from storage; `close` when done.
 */
export function createQueueChunkEncoder(redisUrl: string, config: StorageConfig = {}): {encode: ChunkEncoder; close(): Promise<void>} {
  // One queue and one event stream for all the chunks (they are encoded at once: open them once).
  let opened: Promise<{queue: Queue; events: QueueEvents}> | undefined
  const open = () => {
    opened ??= (async () => {
      const queue = new Queue(CHUNK_QUEUE_NAME, {connection: parseRedisUrl(redisUrl)})
      const events = new QueueEvents(CHUNK_QUEUE_NAME, {connection: parseRedisUrl(redisUrl, {blocking: true})})
      queue.on('error', () => undefined)
      events.on('error', () => undefined)
      await events.waitUntilReady()
      return {queue, events}
    })()
    return opened
  }

  return {
    encode: async (task: ChunkTask) => {
      const {queue, events} = await open()
      const job = await queue.add('chunk', task, {
        jobId: `${task.key}-${task.chunk.index}`,
        ...jobSettings(),
      })
      try {
        await job.waitUntilFinished(events)
      } catch (error) {
        throw new ExternalError(`Chunk ${task.chunk.index} of ${task.shared?.inputUri ?? task.input} failed on a worker: ${(error as Error).message}`, {cause: error})
      }

      await collectSharedChunk(task, config)
    },
    close: async () => {
      if (!opened) return
      const {queue, events} = await opened.catch(() => ({queue: undefined, events: undefined}))
      await events?.close().catch(() => undefined)
      await queue?.close().catch(() => undefined)
    },
  }
}

function createChunkWorker(options: WorkerOptions, signal: AbortSignal): Worker {
  return new Worker(CHUNK_QUEUE_NAME, async (job: Job, token?: string) => {
    const {ffmpeg} = await mediaTools()
    const task = job.data as ChunkTask
    try {
      if (task.shared) await encodeSharedChunk(task, {ffmpeg, dataDir: options.environment.dataDir, config: options.environment, signal})
      else await runProcess(ffmpeg, buildChunkArgs(task), {signal})
    } catch (error) {
      if (signal.aborted) throw await putBack(job, token)
      throw error
    }
  }, workerSettings(options))
}

/** Both of a worker's BullMQ workers (VOD jobs, chunks): its concurrency, lock and stalled-job check. */
function workerSettings(options: WorkerOptions) {
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
async function putBack(job: Job, token: string | undefined): Promise<DelayedError> {
  await job.moveToDelayed(Date.now(), token)
  return new DelayedError()
}

/** How every job is kept and retried: external failures with exponential backoff. */
function jobSettings(attempts = DEFAULT_ATTEMPTS, backoffMs = DEFAULT_BACKOFF_MS) {
  return {attempts, backoff: {type: 'exponential', delay: backoffMs}, removeOnComplete: {count: 1000}, removeOnFail: {count: 1000}}
}
