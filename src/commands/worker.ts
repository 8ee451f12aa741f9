import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom, storageConfigFrom, storageFlags} from '../cli/flags.js'
import {queueFlag} from '../cli/flags-queue.js'
import {runWorker} from '../lib/jobs/worker.js'
import {redactQueueUrl} from '../lib/jobs/redis-url.js'

export default class WorkerCommand extends BaseCommand {
  static override summary = 'Run queued VOD jobs (transcode, segment, publish) until stopped: any number of workers on any number of machines.'
  static override description =
    'Takes jobs from the BullMQ queue on Redis that `livectl run --queue` and `serve --queue` (uploads) fill. Inputs and outputs travel through ' +
    'shared storage (a folder every worker sees, or S3), and every worker must use the same catalog (--db). External failures are retried with ' +
    'backoff; a corrupt input fails once. A worker killed mid-job loses nothing: another takes the job once its lock expires (--lock-seconds). ' +
    'SIGTERM or Ctrl-C puts the running jobs back in the queue and exits.'

  static override examples = [
    '<%= config.bin %> worker --queue redis://127.0.0.1:6379',
    '<%= config.bin %> worker --queue redis://redis.internal:6379 --concurrency 2 --db mysql://livectl:secret@db.internal/livectl --data-dir /var/lib/livectl',
  ]

  static override flags = {
    ...catalogFlags,
    ...storageFlags,
    ...queueFlag,
    concurrency: Flags.integer({description: 'Jobs run at once by this worker (each encodes a whole ladder: one per 4-8 cores).', env: 'LIVECTL_CONCURRENCY', default: 1, min: 1, max: 64}),
    'lock-seconds': Flags.integer({description: 'Seconds a job stays locked to a worker that stopped answering before another takes it.', env: 'LIVECTL_LOCK_SECONDS', default: 30, min: 2, max: 3600}),
  }

  public async run(): Promise<{completed: number; failed: number}> {
    const {flags} = await this.parse(WorkerCommand)
    process.stderr.write(`livectl worker on ${redactQueueUrl(flags.queue)} (concurrency ${flags.concurrency})\n`)
    const result = await runWorker({
      redisUrl: flags.queue,
      concurrency: flags.concurrency,
      lockDurationMs: flags['lock-seconds'] * 1000,
      stalledIntervalMs: Math.max(1000, (flags['lock-seconds'] * 1000) / 2),
      environment: {...catalogOptionsFrom(flags, this.dataDir(flags)), ...storageConfigFrom(flags)},
      signal: this.signal,
      onEvent: (event) => {
        const at = new Date().toISOString()
        if (event.type === 'started') this.logToStderr(`${at} job ${event.jobId}: started (attempt ${event.attempt})`)
        else if (event.type === 'completed') this.logToStderr(`${at} job ${event.jobId}: ${event.result.outcome} at ${event.result.location} in ${event.result.seconds} s`)
        else if (event.type === 'failed') this.logToStderr(`${at} job ${event.jobId}: failed${event.willRetry ? ' (will retry)' : ''}: ${event.reason}`)
        else if (event.type === 'requeued') this.logToStderr(`${at} job ${event.jobId}: stopped and put back in the queue`)
        else this.logToStderr(`${at} queue: ${event.message}`)
      },
    })
    this.say(`Worker stopped: ${result.completed} job(s) completed, ${result.failed} failed.`)
    return result
  }
}
