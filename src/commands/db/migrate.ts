import {BaseCommand} from '../../cli/base-command.js'
import {catalogFlags, catalogOptionsFrom} from '../../cli/flags.js'
import {type MigrateResult, migrateDatabase} from '../../lib/catalog/service.js'

export default class DbMigrate extends BaseCommand {
  static override summary = 'Apply pending catalog migrations.'
  static override description = 'Every command that opens the catalog migrates it first; this does only that, for deploy scripts.'
  static override examples = ['<%= config.bin %> db migrate', '<%= config.bin %> db migrate --db mysql://livectl:secret@127.0.0.1:3306/livectl --json']
  static override flags = {...catalogFlags}

  public async run(): Promise<MigrateResult> {
    const {flags} = await this.parse(DbMigrate)
    const result = await migrateDatabase({...catalogOptionsFrom(flags, this.dataDir(flags))})
    this.say(result.applied.length > 0 ? `Applied ${result.applied.join(', ')} to ${result.catalog}` : `${result.catalog} is up to date`)
    return result
  }
}
