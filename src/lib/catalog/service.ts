/** What the catalog commands do (`db`, `videos`), each one function with a plain options object. */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {UserError} from '../errors.js'
import {readPackageManifest} from '../package/manifest.js'
import {verifyPackage} from '../package/verify.js'
import {type Catalog, catalogMigrationStatus, type CatalogOptions, catalogOptions, type MigrationStatus, migrateCatalog, withCatalog} from './connection.js'
import {assertValidId, idFromName} from './ids.js'
import {getVideo, listVideos, type Video, type VideoPage, upsertVideo} from './videos.js'

// Where ingest/server.ts still takes it from; the type is connection.ts's.

export interface MigrateResult extends MigrationStatus {
  applied: string[]
}

export async function migrateDatabase(options: CatalogOptions): Promise<MigrateResult> {
  return withCatalog({...catalogOptions(options), migrate: false}, async (catalog) => {
    const {error, results} = await migrateCatalog(catalog.db, catalog.dialect)
    if (error) throw error
    const applied = (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName)
    return {...(await catalogMigrationStatus(catalog)), applied}
  })
}

export async function databaseStatus(options: CatalogOptions): Promise<MigrationStatus> {
  return withCatalog({...catalogOptions(options), migrate: false}, catalogMigrationStatus)
}

export interface RegisterPackageOptions extends CatalogOptions {
  packageDir: string
  id?: string
  title?: string
}

/** Registers a local `segment` package as a ready video; its media is served from where it is. */
export async function registerPackage(options: RegisterPackageOptions): Promise<Video> {
  const packageDir = path.resolve(options.packageDir)
  try {
    if (!(await stat(packageDir)).isDirectory()) throw new Error('not a directory')
  } catch {
    throw new UserError(`Package directory not found: ${packageDir}`)
  }

  const manifest = await readPackageManifest(packageDir)
  await verifyPackage(packageDir, manifest)
  const id = options.id === undefined ? idFromName(path.basename(packageDir)) : assertValidId(options.id)
  return withCatalog(catalogOptions(options), (catalog: Catalog) =>
    upsertVideo(catalog, {id, title: options.title ?? id, status: 'ready', packageLocation: packageDir, manifest}),
  )
}

export async function listCatalogVideos(options: CatalogOptions & {limit?: number; after?: string}): Promise<VideoPage> {
  return withCatalog(catalogOptions(options), (catalog) => listVideos(catalog, options))
}

export interface VideoDetails extends Video {
  renditions: Array<{name: string; width?: number; height?: number; bandwidth: number; codecs: string; segments: number}>
  audio?: {codecs: string; bandwidth: number; segments: number}
  formats: string[]
}

export async function showVideo(options: CatalogOptions & {id: string}): Promise<VideoDetails> {
  return withCatalog(catalogOptions(options), async (catalog) => {
    const {package: pkg, ...video} = await getVideo(catalog, options.id)
    return {
      ...video,
      formats: pkg?.formats ?? [],
      renditions: (pkg?.renditions ?? []).map((track) => ({name: track.name, width: track.width, height: track.height, bandwidth: track.bandwidth, codecs: track.codecs, segments: track.segments.length})),
      audio: pkg?.audio ? {codecs: pkg.audio.codecs, bandwidth: pkg.audio.bandwidth, segments: pkg.audio.segments.length} : undefined,
    }
  })
}
