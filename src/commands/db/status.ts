import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import type {MigrationStatus} from '../../lib/catalog/connection.js'
import {databaseStatus} from '../../lib/catalog/service.js'

export default class DbStatus extends BaseCommand {
  static override summary = 'Show which catalog migrations are applied and which are pending.'
  static override examples = ['<%= config.bin %> db status', '<%= config.bin %> db status --json']
  static override flags = {...catalogFlags}

  public async run(): Promise<MigrationStatus> {
    const {flags} = await this.parse(DbStatus)
    const status = await databaseStatus({...catalogOptionsFrom(flags, this.dataDir(flags))})
    this.say(`catalog: ${status.catalog}`)
    for (const migration of status.migrations) this.say(`  ${migration.executedAt ? `applied ${migration.executedAt}` : 'pending'.padEnd(32)}  ${migration.name}`)
    return status
  }
}
