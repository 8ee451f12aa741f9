/**
 * Where a job `serve` accepted (an upload) runs: on the queue when there is one (`--queue`), else in
 * this process, one at a time, in the order received. Either way runVodJob owns the video's status.
 */
import type {VodJobSpec} from './job-spec.js'
import {runVodJob, type VodJobEnvironment} from './vod-job.js'
import {redactQueueUrl} from './redis-url.js'

export interface JobSubmitter {
  /** Where jobs go, for messages: "queue redis://..." or "this process". */
  readonly where: string
  submit(spec: VodJobSpec): Promise<void>
  /** Stops taking jobs; in-process jobs are interrupted (their videos say so and a re-run continues them). */
  close(): Promise<void>
}

export function createJobSubmitter(options: {queueUrl?: string; environment: Omit<VodJobEnvironment, 'signal' | 'onProgress'>; onError?: (spec: VodJobSpec, error: unknown) => void}): JobSubmitter {
  if (options.queueUrl) {
    const queueUrl = options.queueUrl
    return {
      where: `queue ${redactQueueUrl(queueUrl)}`,
      submit: async (spec) => {
        const {enqueueJobs} = await import('./queue-client.js')
        await enqueueJobs({redisUrl: queueUrl, jobs: [spec]})
      },
      close: async () => undefined,
    }
  }

  const stop = new AbortController()
  let chain: Promise<void> = Promise.resolve()
  return {
    where: 'this process',
    submit: async (spec) => {
      chain = chain.then(async () => {
        if (stop.signal.aborted) return
        try {
          await runVodJob(spec, {...options.environment, signal: stop.signal})
        } catch (error) {
          // The job wrote `failed` with the reason; the caller may log it.
          options.onError?.(spec, error)
        }
      })
    },
    close: async () => {
      stop.abort()
      await chain
    },
  }
}
