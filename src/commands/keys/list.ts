import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {listKeys} from '../../lib/ingest/key-service.js'
import type {StreamKeyInfo} from '../../lib/ingest/keys.js'

export default class KeysList extends BaseCommand {
  static override summary = 'List stream keys (names and state, never the keys).'
  static override examples = ['<%= config.bin %> keys list', '<%= config.bin %> keys list --json']
  static override flags = {...catalogFlags}

  public async run(): Promise<{keys: StreamKeyInfo[]}> {
    const {flags} = await this.parse(KeysList)
    const keys = await listKeys({...catalogOptionsFrom(flags, this.dataDir(flags))})
    for (const key of keys) this.say(`${key.name.padEnd(24)} ${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'.padEnd(32)} created ${key.createdAt}`)
    if (keys.length === 0) this.say('No stream keys: create one with `livectl keys create NAME`.')
    return {keys}
  }
}
