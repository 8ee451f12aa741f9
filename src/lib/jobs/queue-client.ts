/**
 * The queue seen from outside the workers: enqueue job specs, list and show jobs, retry a failed
 * one, count them for /metrics. Each call opens the queue, does its work and closes it; a Redis
 * that cannot be reached is an ExternalError naming it (redis-errors.ts).
 */
import {type Job, Queue} from 'bullmq'

import {ExternalError, UserError} from '../errors.js'
import {compileJsonCheck} from '../json-check.js'
import type {VodJobSpec} from './job-spec.js'
import {jobSettings, QUEUE_NAME, VOD_JOB_NAME} from './queue-settings.js'
import {classifyRedisError} from './redis-errors.js'
import {parseRedisUrl, redactQueueUrl} from './redis-url.js'
import {type VodJobResult, vodJobResultSchema} from './vod-job-state.js'

/** A finished job's return value as BullMQ keeps it: shown only when it is a VOD job result. */
const jobResultCheck = compileJsonCheck<VodJobResult>(vodJobResultSchema)

async function withQueue<T>(redisUrl: string, work: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = new Queue(QUEUE_NAME, {connection: parseRedisUrl(redisUrl)})
  // Connection errors surface through the commands below; without a listener they would also be printed.
  queue.on('error', () => undefined)
  try {
    return await work(queue)
  } catch (error) {
    if (error instanceof UserError || error instanceof ExternalError) throw error
    throw classifyRedisError(redisUrl, error) ?? error
  } finally {
    await queue.close().catch(() => undefined)
  }
}

export interface EnqueueResult {
  queue: string
  jobs: Array<{videoId: string; jobId: string; alreadyQueued: boolean}>
}

/** States in which a job still counts as queued: enqueueing its video again adds nothing. */
const QUEUED_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'])

export async function enqueueJobs(options: {redisUrl: string; jobs: readonly VodJobSpec[]; attempts?: number; backoffMs?: number}): Promise<EnqueueResult> {
  return withQueue(options.redisUrl, async (queue) => {
    const result: EnqueueResult = {queue: `${redactQueueUrl(options.redisUrl)} (${QUEUE_NAME})`, jobs: []}
    for (const spec of options.jobs) {
      const existing = await queue.getJob(spec.videoId)
      const state = existing ? await existing.getState() : undefined
      if (existing && state && QUEUED_STATES.has(state)) {
        result.jobs.push({videoId: spec.videoId, jobId: existing.id as string, alreadyQueued: true})
        continue
      }

      // A finished or failed job of the same video is replaced: the new one resumes or skips (runVodJob decides).
      if (existing) await existing.remove()
      const job = await queue.add(VOD_JOB_NAME, spec, {
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

/**
 * A string field of a job's data, read without trusting the data: listing the queue must work even
 * when a job in it is not a job spec (the worker fails such a job and says why in failedReason).
 */
function dataField(job: Job, field: 'videoId' | 'input'): string | undefined {
  const data: unknown = job.data
  if (!data || typeof data !== 'object') return undefined
  const value = (data as Record<string, unknown>)[field]
  return typeof value === 'string' ? value : undefined
}

async function describeJob(job: Job): Promise<JobInfo> {
  const progress = typeof job.progress === 'number' ? job.progress : 0
  const result: unknown = job.returnvalue
  return {
    id: job.id as string,
    // A job's id is its video id (enqueueJobs).
    videoId: dataField(job, 'videoId') ?? (job.id as string),
    input: dataField(job, 'input') ?? '',
    state: await job.getState(),
    progress,
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    ...(job.failedReason ? {failedReason: job.failedReason} : {}),
    createdAt: new Date(job.timestamp).toISOString(),
    ...(job.processedOn ? {startedAt: new Date(job.processedOn).toISOString()} : {}),
    ...(job.finishedOn ? {finishedAt: new Date(job.finishedOn).toISOString()} : {}),
    ...(job.finishedOn && job.processedOn ? {seconds: (job.finishedOn - job.processedOn) / 1000} : {}),
    ...(jobResultCheck.matches(result) ? {result} : {}),
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
    const retried = await queue.getJob(options.id)
    // Taken, finished and removed between the two calls: it no longer is in the queue.
    if (!retried) throw new JobNotFoundError(options.id)
    return describeJob(retried)
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
