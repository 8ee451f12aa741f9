import {Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {listCatalogVideos} from '../../lib/catalog/service.js'
import type {VideoPage} from '../../lib/catalog/videos.js'

export default class VideosList extends BaseCommand {
  static override summary = 'List videos in the catalog, newest first.'
  static override examples = ['<%= config.bin %> videos list', '<%= config.bin %> videos list --limit 10 --json']
  static override flags = {
    ...catalogFlags,
    limit: Flags.integer({description: 'Videos per page.', env: 'LIVECTL_LIMIT', default: 50, min: 1, max: 500}),
    after: Flags.string({description: 'Cursor from the previous page (`next`).', env: 'LIVECTL_AFTER'}),
  }

  public async run(): Promise<VideoPage> {
    const {flags} = await this.parse(VideosList)
    const page = await listCatalogVideos({...catalogOptionsFrom(flags, this.dataDir(flags)), limit: flags.limit, after: flags.after})
    for (const video of page.videos) this.say(`${video.id.padEnd(24)} ${video.status.padEnd(10)} ${video.durationSeconds.toFixed(1).padStart(8)} s  ${video.title}`)
    if (page.videos.length === 0) this.say('No videos yet: register a package with `livectl videos add PKG`.')
    if (page.next) this.say(`More: --after ${page.next}`)
    return page
  }
}
