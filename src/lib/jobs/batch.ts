/**
 * `livectl run`: several recordings, each a VOD job, one after another. A failed input does not
 * stop the others (unless failFast); Ctrl-C stops the batch and a re-run continues each job where
 * it stopped. The summary lists every input with its video id, outcome and reason.
 */
import {readFile} from 'node:fs/promises'

import {CancelledError, ExitCode, toErrorReport, UserError} from '../errors.js'
import type {VodJobSpec} from './job-spec.js'
import {planVodJob, runVodJob, type VodJobEnvironment} from './vod-job.js'
import type {VodJobPlan, VodJobProgress} from './vod-job-runner.js'
import type {VodJobResult} from './vod-job-state.js'

export interface BatchEntry {
  input: string
  videoId: string
  outcome: 'published' | 'skipped' | 'failed' | 'not-run'
  reason?: string
  /** The exit code the failure alone would have given (2: the input or a setting, 3: a service). */
  exitCode?: number
  location?: string
  seconds?: number
}

export interface BatchResult {
  ok: boolean
  published: number
  skipped: number
  failed: number
  entries: BatchEntry[]
}

export interface BatchOptions {
  jobs: VodJobSpec[]
  environment: VodJobEnvironment
  failFast?: boolean
  onJobStart?: (job: VodJobSpec, index: number) => void
  onJobProgress?: (job: VodJobSpec, progress: VodJobProgress) => void
  onJobEnd?: (entry: BatchEntry, index: number) => void
}

/** Reads a list file: one input per line; blank lines and lines starting with # are ignored. */
export async function readInputList(file: string): Promise<string[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`Input list not found: ${file}`)
    throw error
  }

  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
}

/** Two inputs that would become the same video are refused up front, before anything runs. */
export function assertDistinctIds(jobs: readonly VodJobSpec[]): void {
  const seen = new Map<string, string>()
  for (const job of jobs) {
    const other = seen.get(job.videoId)
    if (other !== undefined) {
      throw new UserError(`${other} and ${job.input} would both be video "${job.videoId}"`, {hint: 'Rename one, or run them separately with --video-id.'})
    }

    seen.set(job.videoId, job.input)
  }
}

export async function runBatch(options: BatchOptions): Promise<BatchResult> {
  assertDistinctIds(options.jobs)
  const entries: BatchEntry[] = options.jobs.map((job) => ({input: job.input, videoId: job.videoId, outcome: 'not-run'}))
  for (const [index, job] of options.jobs.entries()) {
    if (options.environment.signal?.aborted) break
    options.onJobStart?.(job, index)
    const entry = entries[index] as BatchEntry
    try {
      const result: VodJobResult = await runVodJob(job, {...options.environment, onProgress: (progress) => options.onJobProgress?.(job, progress)})
      Object.assign(entry, {outcome: result.outcome, location: result.location, seconds: result.seconds})
    } catch (error) {
      if (error instanceof CancelledError || options.environment.signal?.aborted) {
        Object.assign(entry, {outcome: 'failed', reason: 'interrupted: run again to continue', exitCode: ExitCode.cancelled})
        options.onJobEnd?.(entry, index)
        throw error
      }

      const report = toErrorReport(error)
      // A bug is not an input's failure: it stops the batch.
      if (report.kind === 'bug') throw error
      Object.assign(entry, {outcome: 'failed', reason: report.hint ? `${report.message} (${report.hint})` : report.message, exitCode: report.exitCode})
    }

    options.onJobEnd?.(entry, index)
    if (entry.outcome === 'failed' && options.failFast) break
  }

  const count = (outcome: BatchEntry['outcome']) => entries.filter((entry) => entry.outcome === outcome).length
  return {
    ok: entries.every((entry) => entry.outcome === 'published' || entry.outcome === 'skipped'),
    published: count('published'),
    skipped: count('skipped'),
    failed: count('failed'),
    entries,
  }
}

export interface BatchPlan {
  dryRun: true
  jobs: Array<VodJobPlan | {videoId: string; input: string; action: 'fail'; reason: string}>
}

/** What runBatch would do, input by input, changing nothing. */
export async function planBatch(jobs: readonly VodJobSpec[], environment: VodJobEnvironment): Promise<BatchPlan> {
  assertDistinctIds(jobs)
  const planned: BatchPlan['jobs'] = []
  for (const job of jobs) {
    try {
      planned.push(await planVodJob(job, environment))
    } catch (error) {
      const report = toErrorReport(error)
      if (report.kind === 'bug') throw error
      planned.push({videoId: job.videoId, input: job.input, action: 'fail', reason: report.message})
    }
  }

  return {dryRun: true, jobs: planned}
}
