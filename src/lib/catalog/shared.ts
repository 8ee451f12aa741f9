/**
 * One catalog connection per process and database, opened (and migrated) once, for the work that
 * runs many times in one process: VOD jobs in `run`, a `worker`, `demo`. Whatever the process is,
 * it closes them all once, at its end (`closeSharedCatalogs`); nobody else closes one.
 */
import type {Catalog, CatalogOptions} from './connection.js'

const shared = new Map<string, Promise<Catalog>>()

/** The process's connection to this catalog: opened and migrated by the first caller, shared by the rest. */
export async function sharedCatalog(options: CatalogOptions): Promise<Catalog> {
  // Loaded here, not above: every command closes the shared catalogs, few open one (kysely is not free to load).
  const {catalogOptions, openCatalog, resolveCatalogLocation} = await import('./connection.js')
  const {dialect, target} = resolveCatalogLocation(options.db, options.dataDir)
  const key = `${dialect}:${target}`
  let opening = shared.get(key)
  if (!opening) {
    opening = openCatalog(catalogOptions(options))
    shared.set(key, opening)
    // A catalog that could not be opened is tried again by the next caller, not remembered.
    opening.catch(() => {
      if (shared.get(key) === opening) shared.delete(key)
    })
  }

  return opening
}

/** Closes every shared connection (the end of the process, or of a test). */
export async function closeSharedCatalogs(): Promise<void> {
  const open = [...shared.values()]
  shared.clear()
  // Never throws: it runs in every command's `finally`, where a failure would replace the command's
  // result (or its error). A connection that fails to close is gone with the process anyway.
  await Promise.allSettled(open.map(async (opening) => (await opening.catch(() => undefined))?.close()))
}
