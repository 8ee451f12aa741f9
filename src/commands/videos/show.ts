import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {showVideo, type VideoDetails} from '../../lib/catalog/service.js'

export default class VideosShow extends BaseCommand {
  static override summary = 'Show one video: status, duration, where its package lives, its renditions.'
  static override examples = ['<%= config.bin %> videos show talk', '<%= config.bin %> videos show talk --json']
  static override args = {id: Args.string({description: 'Video id.', required: true})}
  static override flags = {...catalogFlags}

  public async run(): Promise<VideoDetails> {
    const {args, flags} = await this.parse(VideosShow)
    const video = await showVideo({...catalogOptionsFrom(flags, this.dataDir(flags)), id: args.id})
    this.say(`${video.id}: ${video.title}`)
    this.say(`  status ${video.status}, ${video.durationSeconds.toFixed(1)} s, created ${video.createdAt}`)
    this.say(`  package ${video.packageLocation} (${video.formats.join(', ') || 'none'})`)
    for (const rendition of video.renditions) this.say(`  ${rendition.name.padEnd(6)} ${rendition.width}x${rendition.height} ${rendition.bandwidth} bps ${rendition.codecs}, ${rendition.segments} segments`)
    if (video.audio) this.say(`  audio  ${video.audio.bandwidth} bps ${video.audio.codecs}, ${video.audio.segments} segments`)
    return video
  }
}
