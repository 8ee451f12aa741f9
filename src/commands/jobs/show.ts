import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {queueFlag} from '../../cli/flags-queue.js'
import {type JobInfo, showJob} from '../../lib/jobs/queue-client.js'

export default class JobsShow extends BaseCommand {
  static override summary = 'Show one VOD job: state, progress, attempts, why it failed, what it published.'
  static override examples = ['<%= config.bin %> jobs show talk --queue redis://127.0.0.1:6379 --json']
  static override args = {id: Args.string({description: 'Job id (the video id).', required: true})}
  static override flags = {...queueFlag}

  public async run(): Promise<JobInfo> {
    const {args, flags} = await this.parse(JobsShow)
    const job = await showJob({redisUrl: flags.queue, id: args.id})
    this.say(`${job.id}: ${job.state}, ${Math.round(job.progress * 100)}%, attempt ${job.attemptsMade}/${job.attempts}`)
    this.say(`  input ${job.input}`)
    this.say(`  created ${job.createdAt}${job.startedAt ? `, started ${job.startedAt}` : ''}${job.finishedAt ? `, finished ${job.finishedAt}` : ''}`)
    if (job.failedReason) this.say(`  failed: ${job.failedReason}`)
    if (job.result) this.say(`  ${job.result.outcome} at ${job.result.location}`)
    return job
  }
}
