import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {queueFlag} from '../../cli/flags-queue.js'
import {type JobInfo, retryJob} from '../../lib/jobs/queue-client.js'

export default class JobsRetry extends BaseCommand {
  static override summary = 'Run a failed VOD job again, with all its attempts (it continues from its first unfinished stage).'
  static override examples = ['<%= config.bin %> jobs retry talk --queue redis://127.0.0.1:6379']
  static override args = {id: Args.string({description: 'Job id (the video id).', required: true})}
  static override flags = {...queueFlag}

  public async run(): Promise<JobInfo> {
    const {args, flags} = await this.parse(JobsRetry)
    const job = await retryJob({redisUrl: flags.queue, id: args.id})
    this.say(`${job.id}: ${job.state} again`)
    return job
  }
}
