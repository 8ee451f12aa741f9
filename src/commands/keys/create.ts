import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {createKey} from '../../lib/ingest/key-service.js'
import type {CreatedStreamKey} from '../../lib/ingest/keys.js'

export default class KeysCreate extends BaseCommand {
  static override summary = 'Create a stream key for a broadcaster; it is shown once and only its hash is stored.'
  static override examples = ['<%= config.bin %> keys create studio-a', '<%= config.bin %> keys create studio-a --json']
  static override args = {name: Args.string({description: 'A name for the key (letters, digits, "-", "_").', required: true})}
  static override flags = {...catalogFlags}

  public async run(): Promise<CreatedStreamKey> {
    const {args, flags} = await this.parse(KeysCreate)
    const created = await createKey({...catalogOptionsFrom(flags, this.dataDir(flags)), name: args.name})
    this.say(`Stream key for ${created.name} (shown once, store it now):`)
    this.say(created.key)
    this.say(`Push to rtmp://HOST:1935/live/${created.key}`)
    return created
  }
}
