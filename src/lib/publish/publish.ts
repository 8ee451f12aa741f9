/**
 * `publishPackage`: a `segment` package to storage (folder, S3, HDFS), idempotent and resumable,
 * segments before manifests, then registered in the catalog and optionally invalidated on a CDN.
 */
import type {BigIntStats} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {assertValidId, idFromName} from '../catalog/ids.js'
import {type CatalogOptions, catalogOptions, withCatalog} from '../catalog/connection.js'
import {upsertVideo} from '../catalog/videos.js'
import {type PackageManifest, readPackageManifest} from '../package/manifest.js'
import {verifyPackage} from '../package/verify.js'
import {openStorage, type StorageConfig, storageConfigOf} from '../storage/open.js'
import {packageLocation, type Storage} from '../storage/storage.js'
import {type InvalidationOptions, type InvalidationResult, invalidateCdn} from '../cdn/invalidate.js'
import {DigestCache} from './digest-cache.js'
import {createFilePublisher, ETAG_SCHEME, type PublishFileResult} from './file-publisher.js'
import {mapConcurrent} from '../concurrency.js'
import {isManifestFile, PHASE_ORDER, planPublish} from './plan.js'

export interface PublishProgress {
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
  /** Upload rate so far, bytes per second. */
  bytesPerSecond: number
}

export interface UploadPackageOptions extends StorageConfig {
  packageDir: string
  /** Storage URI (a folder, file://, s3://bucket/prefix, hdfs://namenode:port/path), or that storage opened already. */
  to: string | Storage
  videoId?: string
  /** Where the digest cache is kept. */
  dataDir: string
  concurrency?: number
  /** Attempts per file, the first included. */
  attempts?: number
  retryBaseMs?: number
  dryRun?: boolean
  signal?: AbortSignal
  onProgress?: (progress: PublishProgress) => void
  onRetry?: (file: string, attempt: number, error: unknown) => void
}

export interface PublishOptions extends UploadPackageOptions, CatalogOptions {
  title?: string
  invalidate?: InvalidationOptions
}

export type {PublishFileResult} from './file-publisher.js'

export interface PublishResult {
  dryRun: boolean
  videoId: string
  storage: string
  /** Where the package lives now (the storage URI plus the video's prefix); recorded in the catalog. */
  location: string
  files: number
  uploaded: number
  skipped: number
  bytesUploaded: number
  bytesSkipped: number
  seconds: number
  /** Manifests that were uploaded (changed) in this run. */
  changedManifests: string[]
  invalidation?: InvalidationResult
  plan?: PublishFileResult[]
}

export const DEFAULT_PUBLISH_CONCURRENCY = 8

/** Publishes a package: uploaded, registered in the catalog as ready, and the CDN told of changed manifests. */
export async function publishPackage(options: PublishOptions): Promise<PublishResult> {
  const started = Date.now()
  const {result, manifest} = await uploadPackage(options)
  if (!options.dryRun) {
    await withCatalog(catalogOptions(options), (catalog) =>
      upsertVideo(catalog, {id: result.videoId, title: options.title ?? result.videoId, status: 'ready', packageLocation: result.location, manifest}),
    )
    if (options.invalidate && result.changedManifests.length > 0) result.invalidation = await invalidateCdn(result.changedManifests, options.invalidate)
  }

  result.seconds = Math.round((Date.now() - started) / 10) / 100
  return result
}

export interface UploadedPackage {
  result: PublishResult
  /** The package's manifest, as the catalog records it. */
  manifest: PackageManifest
}

/**
 * The storage half of a publish, segments before manifests, resumable; the catalog and the CDN
 * are the caller's (publishPackage, or a VOD job that writes its video's status itself).
 */
export async function uploadPackage(options: UploadPackageOptions): Promise<UploadedPackage> {
  const started = Date.now()
  const packageDir = path.resolve(options.packageDir)
  const manifest = await readPackageManifest(packageDir)
  const videoId = options.videoId === undefined ? idFromName(path.basename(packageDir)) : assertValidId(options.videoId)
  const storage = typeof options.to === 'string' ? await openStorage(options.to, storageConfigOf(options)) : options.to
  const digestCache = await DigestCache.open(options.dataDir, packageDir, ETAG_SCHEME)
  const retry = {attempts: options.attempts ?? 5, baseMs: options.retryBaseMs ?? 200, maxMs: 10_000, signal: options.signal}
  // The listing, a round trip to storage, runs while the package is checked and its files stat'ed;
  // a package that fails its check is still refused first.
  const publisherReady = createFilePublisher({
    storage, dir: packageDir, prefix: videoId, digestCache, retry, dryRun: options.dryRun, signal: options.signal, onRetry: options.onRetry,
  })
  publisherReady.catch(() => undefined)
  await verifyPackage(packageDir, manifest)
  const files = planPublish(manifest)
  const stats = new Map<string, BigIntStats>()
  await mapConcurrent(files, 16, async ({file}) => {
    stats.set(file, await stat(path.join(packageDir, file), {bigint: true}))
  })
  const sizeOf = (file: string) => Number((stats.get(file) as BigIntStats).size)
  const bytesTotal = files.reduce((sum, {file}) => sum + sizeOf(file), 0)
  const location = packageLocation(storage, videoId)

  let filesDone = 0
  let bytesDone = 0
  let bytesUploaded = 0
  const report = () =>
    options.onProgress?.({filesDone, filesTotal: files.length, bytesDone, bytesTotal, bytesPerSecond: bytesUploaded / Math.max((Date.now() - started) / 1000, 0.001)})

  const publishFile = await publisherReady

  const results: PublishFileResult[] = []
  const handle = async (file: string): Promise<PublishFileResult> => {
    const result = await publishFile(file, stats.get(file) as BigIntStats)
    filesDone += 1
    bytesDone += result.sizeBytes
    if (result.action === 'upload' && !options.dryRun) bytesUploaded += result.sizeBytes
    report()
    return result
  }

  try {
    for (const phase of PHASE_ORDER) {
      const inPhase = files.filter((file) => file.phase === phase).map((file) => file.file)
      results.push(...(await mapConcurrent(inPhase, options.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY, handle)))
    }
  } finally {
    // Also after a failure or Ctrl-C: the run that resumes it need not hash again what this one did.
    if (!options.dryRun) await digestCache.save()
  }

  const uploaded = results.filter((result) => result.action === 'upload')
  const changedManifests = uploaded.filter((result) => isManifestFile(result.file)).map((result) => result.key)
  const result: PublishResult = {
    dryRun: Boolean(options.dryRun),
    videoId,
    storage: storage.uri,
    location,
    files: results.length,
    uploaded: uploaded.length,
    skipped: results.length - uploaded.length,
    bytesUploaded: uploaded.reduce((sum, entry) => sum + entry.sizeBytes, 0),
    bytesSkipped: results.filter((entry) => entry.action === 'skip').reduce((sum, entry) => sum + entry.sizeBytes, 0),
    seconds: 0,
    changedManifests,
    ...(options.dryRun ? {plan: results} : {}),
  }

  result.seconds = Math.round((Date.now() - started) / 10) / 100
  return {result, manifest}
}
