/**
 * Opens the catalog: SQLite (embedded default, a file under the data directory) or MySQL, chosen
 * by URL, behind one kysely query layer. Migrations run on open.
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {Kysely, MysqlDialect, SqliteDialect, sql} from 'kysely'
import {Migrator, type MigrationResultSet} from 'kysely/migration'

import {ExternalError, ServiceUnavailableError, UserError} from '../errors.js'
import {ensureDir} from '../files.js'
import {type Dialect, migrationProvider} from './migrations.js'
import type {CatalogSchema} from './schema.js'

export interface CatalogLocation {
  dialect: Dialect
  /** SQLite file path (or ":memory:"), or the MySQL URL. */
  target: string
  /** For messages and `db status`: no password. */
  display: string
}

export interface Catalog {
  db: Kysely<CatalogSchema>
  dialect: Dialect
  display: string
  /**
   * Brings the schema back after the database lost it (dropped and re-created, tables dropped):
   * runs the migrations again, at most once every few seconds however often it is asked.
   * Resolves true when the migrations ran.
   */
  repair(): Promise<boolean>
  close(): Promise<void>
}

const DEFAULT_SQLITE_FILE = 'catalog.db'

/** `sqlite:PATH`, `sqlite::memory:`, `mysql://user:pass@host:port/db`; default SQLite under the data directory. */
export function resolveCatalogLocation(url: string | undefined, dataDir: string): CatalogLocation {
  if (!url) {
    const file = path.join(dataDir, DEFAULT_SQLITE_FILE)
    return {dialect: 'sqlite', target: file, display: `sqlite:${file}`}
  }

  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '')
    if (!rest) throw new UserError('--db sqlite: needs a file path, e.g. sqlite:./livectl-data/catalog.db')
    const target = rest === ':memory:' ? rest : path.resolve(rest)
    return {dialect: 'sqlite', target, display: `sqlite:${target}`}
  }

  if (url.startsWith('mysql://')) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new UserError(`--db is not a valid MySQL URL: ${url.replace(/:[^:@/]*@/, ':***@')}`)
    }

    if (!parsed.pathname || parsed.pathname === '/') throw new UserError('--db mysql:// URL needs a database name, e.g. mysql://user:pass@127.0.0.1:3306/livectl')
    const display = `mysql://${parsed.username ? `${parsed.username}${parsed.password ? ':***' : ''}@` : ''}${parsed.host}${parsed.pathname}`
    return {dialect: 'mysql', target: url, display}
  }

  throw new UserError(`Unknown catalog URL "${url}"`, {hint: 'Use sqlite:PATH or mysql://user:pass@host:port/database.'})
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  // The database itself is gone (dropped), or the connection lost it.
  'ER_BAD_DB_ERROR',
  'ER_NO_DB_ERROR',
  'SQLITE_BUSY',
  'SQLITE_CANTOPEN',
])

/**
 * True when the catalog's tables are not there (the database was dropped and re-created empty, or
 * its tables dropped): the queries are right, the schema is gone. `Catalog.repair` brings it back.
 */
export function isSchemaMissingError(error: unknown): boolean {
  if (error instanceof CatalogSchemaIncompleteError) return true
  const code = (error as {code?: unknown} | null)?.code
  // A table or a column missing: the schema is gone, or a repair is half way through it.
  if (code === 'ER_NO_SUCH_TABLE' || code === 'ER_BAD_FIELD_ERROR') return true
  // better-sqlite3 reports these with the generic SQLITE_ERROR code: only its message says which error it is.
  return code === 'SQLITE_ERROR' && /^no such (table|column):/.test(error instanceof Error ? error.message : '')
}

/** The catalog's schema is behind this version of livectl (a repair under way, or migrations not applied). */
export class CatalogSchemaIncompleteError extends ServiceUnavailableError {}

/**
 * Reachable and at the latest schema: what /healthz reports. Pending migrations count as not
 * ready (a repair half way through answers queries with missing columns).
 */
export async function assertCatalogReady(catalog: Catalog): Promise<void> {
  const migrations = await new Migrator({db: catalog.db, provider: migrationProvider(catalog.dialect)}).getMigrations()
  const pending = migrations.filter((migration) => !migration.executedAt).map((migration) => migration.name)
  if (pending.length > 0) throw new CatalogSchemaIncompleteError(`The catalog ${catalog.display} is missing migrations ${pending.join(', ')}`)
}

/** True for errors that mean "the database is not reachable now" rather than "the query is wrong". */
export function isUnavailableError(error: unknown): boolean {
  if (error instanceof ServiceUnavailableError) return true
  if (isSchemaMissingError(error)) return true
  const code = (error as {code?: unknown} | null)?.code
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true
  const message = error instanceof Error ? error.message : ''
  return /connect ECONNREFUSED|Connection lost|closed state|Pool is closed/i.test(message)
}

/** Wraps a database failure in the right livectl error. */
function toCatalogError(error: unknown, display: string): Error {
  if (error instanceof UserError || error instanceof ExternalError) return error
  const code = (error as {code?: string} | null)?.code
  if (typeof code === 'string' && code.startsWith('SQLITE_') && !isUnavailableError(error)) {
    const classified = sqliteOpenError(error, display.replace(/^sqlite:/, ''))
    if (classified !== error) return classified
  }

  if (isUnavailableError(error)) {
    return new ServiceUnavailableError(`The catalog database is unavailable (${display}): ${(error as Error).message}`, {cause: error})
  }

  return new ExternalError(`Catalog query failed (${display}): ${(error as Error).message}`, {cause: error})
}

/** SQLite's answers to opening something that is not a usable catalog file, said as what the user can fix. */
function sqliteOpenError(error: unknown, file: string): Error {
  const code = (error as {code?: string} | null)?.code
  if (code === 'SQLITE_NOTADB') return new UserError(`The catalog ${file} is not an SQLite database`, {cause: error, hint: 'Point --db at a livectl catalog, or at a file that does not exist yet.'})
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return new UserError(`Cannot open the catalog ${file} for writing (${code})`, {cause: error, hint: 'Check the permissions of the file and its directory, or choose another --db / --data-dir.'})
  }

  if (code === 'SQLITE_CORRUPT') return new UserError(`The catalog ${file} is corrupt`, {cause: error, hint: 'Restore it from a backup, or start a new catalog elsewhere.'})
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR') return new ExternalError(`Cannot use the catalog ${file}: ${(error as Error).message}`, {cause: error, hint: 'Check the disk (space, errors).'})
  return error instanceof Error ? error : new Error(String(error))
}

async function openSqlite(file: string) {
  const {default: Database} = await import('better-sqlite3')
  if (file !== ':memory:') {
    await ensureDir(path.dirname(file))
    // Opening a FIFO or a device would block this thread where no signal can stop it.
    const info = await stat(file).catch(() => undefined)
    if (info && !info.isFile()) throw new UserError(`The catalog ${file} is not a regular file`, {hint: 'Point --db at a livectl catalog file, or at a path that does not exist yet.'})
  }

  try {
    const database = new Database(file)
    // WAL lets `serve` read while a CLI writes; busy_timeout waits for a writer instead of failing.
    database.pragma('journal_mode = WAL')
    database.pragma('busy_timeout = 5000')
    database.pragma('foreign_keys = ON')
    database.pragma('synchronous = NORMAL')
    return database
  } catch (error) {
    throw sqliteOpenError(error, file)
  }
}

async function createDialect(location: CatalogLocation) {
  if (location.dialect === 'sqlite') return new SqliteDialect({database: await openSqlite(location.target)})

  const {createPool} = await import('mysql2')
  return new MysqlDialect({
    pool: createPool({
      uri: location.target,
      connectionLimit: 10,
      charset: 'utf8mb4',
      timezone: 'Z',
      enableKeepAlive: true,
      connectTimeout: 5000,
    }),
  })
}

export async function migrateCatalog(db: Kysely<CatalogSchema>, dialect: Dialect): Promise<MigrationResultSet> {
  const migrator = new Migrator({db, provider: migrationProvider(dialect)})
  return migrator.migrateToLatest()
}

export interface OpenCatalogOptions {
  /** --db / LIVECTL_DB; default SQLite in the data directory. */
  url?: string
  dataDir: string
  /** Apply pending migrations on open (default true). */
  migrate?: boolean
}

/** What every service that uses the catalog takes: --db and the data directory. */
export interface CatalogOptions {
  /** --db / LIVECTL_DB */
  db?: string
  dataDir: string
}

/** The one place a service's catalog options become the connection's. */
export function catalogOptions(options: CatalogOptions): OpenCatalogOptions {
  return {url: options.db, dataDir: options.dataDir}
}

/** The least time between two repairs of a catalog whose schema went away. */
const REPAIR_INTERVAL_MS = 2000

export async function openCatalog(options: OpenCatalogOptions): Promise<Catalog> {
  const location = resolveCatalogLocation(options.url, options.dataDir)
  const db = new Kysely<CatalogSchema>({dialect: await createDialect(location)})
  let repairing: Promise<boolean> | undefined
  let lastRepairAt = 0
  const repair = (): Promise<boolean> => {
    if (repairing) return repairing
    if (Date.now() - lastRepairAt < REPAIR_INTERVAL_MS) return Promise.resolve(false)
    lastRepairAt = Date.now()
    repairing = migrateCatalog(db, location.dialect)
      .then(({error}) => error === undefined, () => false)
      .finally(() => {
        repairing = undefined
      })
    return repairing
  }

  const catalog: Catalog = {db, dialect: location.dialect, display: location.display, repair, close: () => db.destroy()}
  try {
    await sql`select 1`.execute(db)
    if (options.migrate ?? true) {
      const {error} = await migrateCatalog(db, location.dialect)
      if (error) throw error
    }
  } catch (error) {
    await db.destroy().catch(() => undefined)
    throw toCatalogError(error, location.display)
  }

  return catalog
}

export interface MigrationStatus {
  catalog: string
  dialect: Dialect
  migrations: Array<{name: string; executedAt?: string}>
  pending: string[]
}

export async function catalogMigrationStatus(catalog: Catalog): Promise<MigrationStatus> {
  const migrator = new Migrator({db: catalog.db, provider: migrationProvider(catalog.dialect)})
  const migrations = await migrator.getMigrations()
  return {
    catalog: catalog.display,
    dialect: catalog.dialect,
    migrations: migrations.map((migration) => ({name: migration.name, executedAt: migration.executedAt?.toISOString()})),
    pending: migrations.filter((migration) => !migration.executedAt).map((migration) => migration.name),
  }
}

/** Runs `work` with an open catalog and always closes it; database failures become livectl errors. */
export async function withCatalog<T>(options: OpenCatalogOptions, work: (catalog: Catalog) => Promise<T>): Promise<T> {
  const catalog = await openCatalog(options)
  try {
    return await work(catalog)
  } catch (error) {
    throw toCatalogError(error, catalog.display)
  } finally {
    await catalog.close()
  }
}

/**
 * Runs `work` on a catalog that stays open (one a process shares); database failures become
 * livectl errors. A schema that went away is migrated again (Catalog.repair) and `work` tried once
 * more, as opening the catalog afresh would have done: `work` must be safe to repeat.
 */
export async function queryCatalog<T>(catalog: Catalog, work: (catalog: Catalog) => Promise<T>): Promise<T> {
  try {
    try {
      return await work(catalog)
    } catch (error) {
      if (!isSchemaMissingError(error) || !(await catalog.repair())) throw error
      return await work(catalog)
    }
  } catch (error) {
    throw toCatalogError(error, catalog.display)
  }
}
