import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {queueFlag} from '../../cli/flags-queue.js'
import {JOB_STATES, type JobList, type JobState, listJobs} from '../../lib/jobs/queue-client.js'

export default class JobsList extends BaseCommand {
  static override summary = 'List queued, running, finished and failed VOD jobs, with counts by state.'
  static override examples = ['<%= config.bin %> jobs list --queue redis://127.0.0.1:6379', '<%= config.bin %> jobs list --queue redis://127.0.0.1:6379 --state failed --json']
  static override flags = {
    ...queueFlag,
    state: Flags.string({description: 'Only jobs in these states.', options: [...JOB_STATES], multiple: true}),
    limit: Flags.integer({description: 'At most this many jobs.', default: 100, min: 1, max: 10_000}),
  }

  public async run(): Promise<JobList> {
    const {flags} = await this.parse(JobsList)
    const list = await listJobs({redisUrl: flags.queue, states: flags.state as JobState[] | undefined, limit: flags.limit})
    this.say(JOB_STATES.map((state) => `${state} ${list.counts[state]}`).join(', '))
    for (const job of list.jobs) {
      this.say(`${job.id.padEnd(24)} ${job.state.padEnd(9)} ${`${Math.round(job.progress * 100)}%`.padStart(4)}  attempt ${job.attemptsMade}/${job.attempts}  ${job.input}${job.failedReason ? `  (${job.failedReason})` : ''}`)
    }

    return list
  }
}
