import {Args} from '@oclif/core'

import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {revokeKey} from '../../lib/ingest/key-service.js'
import type {StreamKeyInfo} from '../../lib/ingest/keys.js'

export default class KeysRevoke extends BaseCommand {
  static override summary = 'Revoke a stream key: new pushes with it are refused.'
  static override examples = ['<%= config.bin %> keys revoke studio-a']
  static override args = {name: Args.string({description: 'Name of the key.', required: true})}
  static override flags = {...catalogFlags}

  public async run(): Promise<StreamKeyInfo> {
    const {args, flags} = await this.parse(KeysRevoke)
    const revoked = await revokeKey({...catalogOptionsFrom(flags, this.dataDir(flags)), name: args.name})
    this.say(`Revoked ${revoked.name} at ${revoked.revokedAt}`)
    return revoked
  }
}
