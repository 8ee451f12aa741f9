import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {registerPackage} from '../../lib/catalog/service.js'
import type {Video} from '../../lib/catalog/videos.js'

export default class VideosAdd extends BaseCommand {
  static override summary = 'Register a `segment` package in the catalog as a ready video.'
  static override description = 'The package is checked (every manifest parses, every file exists) and served from where it is by `livectl serve`. Adding the same id again replaces its package.'
  static override examples = ['<%= config.bin %> videos add packages/talk', '<%= config.bin %> videos add packages/talk --id talk-2026 --title "Keynote" --json']
  static override args = {package: Args.string({description: 'Package directory written by `livectl segment`.', required: true})}
  static override flags = {
    ...catalogFlags,
    id: Flags.string({description: 'Video id: letters, digits, "-", "_" [default: from the directory name].', env: 'LIVECTL_VIDEO_ID'}),
    title: Flags.string({description: 'Title [default: the id].', env: 'LIVECTL_TITLE'}),
  }

  public async run(): Promise<Video> {
    const {args, flags} = await this.parse(VideosAdd)
    const video = await registerPackage({...catalogOptionsFrom(flags, this.dataDir(flags)), packageDir: args.package, id: flags.id, title: flags.title})
    this.say(`Registered ${video.id} (${video.status}, ${video.durationSeconds.toFixed(1)} s) from ${video.packageLocation}`)
    return video
  }
}
