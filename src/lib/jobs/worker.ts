/**
 * The worker loop: `livectl worker` takes VOD jobs off the queue and runs each with runVodJob,
 * spreading a chunked job's chunks over every worker (chunk-fanout.ts) while encoding chunks
 * itself (chunk-worker.ts). Job data is checked as a job spec before it runs: data that is not one
 * fails that job, once, saying why; the worker goes on.
 */
import {DelayedError, type Job, UnrecoverableError, Worker} from 'bullmq'

import {CancelledError, toErrorReport} from '../errors.js'
import {createQueueChunkEncoder} from './chunk-fanout.js'
import {createChunkWorker} from './chunk-worker.js'
import {parseVodJobSpec, type VodJobSpec} from './job-spec.js'
import {putBack, QUEUE_NAME, workerSettings, type WorkerSettingsOptions} from './queue-settings.js'
import {queueUnavailable} from './redis-errors.js'
import {runVodJob, type VodJobEnvironment} from './vod-job.js'
import type {VodJobResult} from './vod-job-state.js'

export interface WorkerOptions extends WorkerSettingsOptions {
  environment: Omit<VodJobEnvironment, 'onProgress' | 'signal'>
  signal?: AbortSignal
  onEvent?: (event: WorkerEvent) => void
}

export type WorkerEvent =
  | {type: 'started'; jobId: string; videoId: string; attempt: number}
  | {type: 'completed'; jobId: string; videoId: string; result: VodJobResult}
  | {type: 'failed'; jobId: string; videoId: string; reason: string; willRetry: boolean}
  | {type: 'requeued'; jobId: string; videoId: string}
  | {type: 'error'; message: string}

/** The video a job is for, for events: from its data when that names one, else its id (which enqueueJobs makes the video id). */
function videoIdOf(job: Job): string {
  const data: unknown = job.data
  const videoId = data && typeof data === 'object' ? (data as Record<string, unknown>).videoId : undefined
  return typeof videoId === 'string' ? videoId : (job.id as string)
}

/** A failure as BullMQ should see it: external ones are retried, anything else fails once. */
function toJobFailure(error: unknown): Error {
  const report = toErrorReport(error)
  const message = report.hint ? `${report.message} (${report.hint})` : report.message
  if (report.kind === 'external') return new Error(message, {cause: error})
  // A user error (or a bug) fails the same way every time: no retry.
  return new UnrecoverableError(message)
}

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
    options.onEvent?.({type: 'started', jobId: job.id as string, videoId: videoIdOf(job), attempt: job.attemptsMade + 1})
    let spec: VodJobSpec
    try {
      spec = parseVodJobSpec(job.data, `Job ${job.id} is not a livectl VOD job`)
    } catch (error) {
      throw toJobFailure(error)
    }

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

      throw toJobFailure(error)
    }
  }

  const worker = new Worker(QUEUE_NAME, processor, workerSettings(options))
  worker.on('completed', (job, result: VodJobResult) => {
    completed += 1
    options.onEvent?.({type: 'completed', jobId: job.id as string, videoId: videoIdOf(job), result})
  })
  worker.on('failed', (job, error) => {
    if (!job || error instanceof DelayedError || error.name === 'DelayedError') return
    const willRetry = !(error instanceof UnrecoverableError) && job.attemptsMade < (job.opts.attempts ?? 1)
    if (!willRetry) failed += 1
    options.onEvent?.({type: 'failed', jobId: job.id as string, videoId: videoIdOf(job), reason: error.message, willRetry})
  })
  worker.on('error', (error) => options.onEvent?.({type: 'error', message: error.message}))
  const chunkWorker = createChunkWorker({...options, dataDir: options.environment.dataDir, storageConfig: options.environment}, stopping.signal)
  chunkWorker.on('error', (error) => options.onEvent?.({type: 'error', message: error.message}))

  const stopRequested = new Promise<'stopped'>((resolve) => {
    if (stopping.signal.aborted) resolve('stopped')
    else stopping.signal.addEventListener('abort', () => resolve('stopped'), {once: true})
  })
  const closeAll = async (force?: boolean) => {
    await worker.close(force).catch(() => undefined)
    await chunkWorker.close(force).catch(() => undefined)
    await chunks.close()
    options.signal?.removeEventListener('abort', stop)
  }

  // Fail now, naming Redis, when connecting fails. Workers keep trying to connect (a worker may
  // start before its Redis): a stop request while they do ends the wait, not only a connection.
  const ready = Promise.all([worker.waitUntilReady(), chunkWorker.waitUntilReady()]).then(() => 'ready' as const)
  try {
    if ((await Promise.race([ready, stopRequested])) === 'stopped') {
      ready.catch(() => undefined)
      await closeAll(true)
      return {completed, failed}
    }
  } catch (error) {
    await closeAll(true)
    throw queueUnavailable(options.redisUrl, error)
  }

  const running = Promise.all([worker.run(), chunkWorker.run()])
  await stopRequested
  // Running jobs see the abort, put themselves back and end; then the worker closes.
  await worker.close()
  await chunkWorker.close()
  await chunks.close()
  await running.catch(() => undefined)
  options.signal?.removeEventListener('abort', stop)
  return {completed, failed}
}
