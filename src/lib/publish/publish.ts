/**
 * `publishPackage`: a `segment` package to storage (folder, S3, HDFS), idempotent and resumable,
 * segments before manifests, then registered in the catalog and optionally invalidated on a CDN.
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {cacheControlFor, contentTypeFor} from '../api/media.js'
import {assertValidId, idFromName} from '../catalog/ids.js'
import {withCatalog} from '../catalog/connection.js'
import type {CatalogOptions} from '../catalog/service.js'
import {upsertVideo} from '../catalog/videos.js'
import {ExternalError, throwIfAborted} from '../errors.js'
import {readPackageManifest} from '../package/manifest.js'
import {verifyPackage} from '../package/verify.js'
import {s3EtagOfFile, sha256OfFile} from '../storage/checksum.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import {MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES} from '../storage/s3.js'
import {joinKey, type ObjectInfo} from '../storage/storage.js'
import {type InvalidationOptions, type InvalidationResult, invalidateCdn} from '../cdn/invalidate.js'
import {isManifestFile, mapConcurrent, PHASE_ORDER, planPublish} from './plan.js'
import {withRetries} from './retry.js'

export interface PublishProgress {
  filesDone: number
  filesTotal: number
  bytesDone: number
  bytesTotal: number
  /** Upload rate so far, bytes per second. */
  bytesPerSecond: number
}

export interface PublishOptions extends CatalogOptions, StorageConfig {
  packageDir: string
  /** Storage URI: a folder, file://, s3://bucket/prefix, hdfs://namenode:port/path. */
  to: string
  videoId?: string
  title?: string
  concurrency?: number
  /** Attempts per file, the first included. */
  attempts?: number
  retryBaseMs?: number
  dryRun?: boolean
  invalidate?: InvalidationOptions
  signal?: AbortSignal
  onProgress?: (progress: PublishProgress) => void
  onRetry?: (file: string, attempt: number, error: unknown) => void
}

export interface PublishFileResult {
  file: string
  key: string
  sizeBytes: number
  action: 'upload' | 'skip'
}

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

export async function publishPackage(options: PublishOptions): Promise<PublishResult> {
  const started = Date.now()
  const packageDir = path.resolve(options.packageDir)
  const manifest = await readPackageManifest(packageDir)
  await verifyPackage(packageDir, manifest)
  const videoId = options.videoId === undefined ? idFromName(path.basename(packageDir)) : assertValidId(options.videoId)
  const storage = openStorage(options.to, options)
  const files = planPublish(manifest)
  const sizes = new Map<string, number>()
  for (const {file} of files) sizes.set(file, (await stat(path.join(packageDir, file))).size)
  const bytesTotal = [...sizes.values()].reduce((sum, size) => sum + size, 0)
  const location = `${storage.uri.replace(/\/$/, '')}/${videoId}`

  let filesDone = 0
  let bytesDone = 0
  let bytesUploaded = 0
  const report = () =>
    options.onProgress?.({filesDone, filesTotal: files.length, bytesDone, bytesTotal, bytesPerSecond: bytesUploaded / Math.max((Date.now() - started) / 1000, 0.001)})

  const retry = {attempts: options.attempts ?? 5, baseMs: options.retryBaseMs ?? 200, maxMs: 10_000, signal: options.signal}
  // One listing of what the video's prefix already holds: new files need no HEAD, and on S3 the
  // listed ETag recognises unchanged files without one either.
  const stored = new Map<string, ObjectInfo>()
  await withRetries(async () => {
    stored.clear()
    for await (const object of storage.list(`${videoId}/`)) stored.set(object.key, object)
  }, retry)
  /** Whether storage holds this file already, reading the file as little as possible. */
  const compareWithStored = async (key: string, local: string, sizeBytes: number): Promise<{same: boolean; sha256?: string}> => {
    const existing = stored.get(key)
    // Not there, or another size: it must go up, no need to read anything but its SHA-256 for the upload.
    if (!existing || existing.sizeBytes !== sizeBytes) return {same: false}
    if (existing.etag && existing.etag === (await s3EtagOfFile(local, sizeBytes, MULTIPART_THRESHOLD_BYTES, MULTIPART_PART_BYTES))) return {same: true}
    // No usable ETag (a local folder, HDFS, S3 with SSE-KMS): compare the SHA-256 stored with the object.
    const sha256 = await sha256OfFile(local)
    return {same: (await storage.head(key))?.sha256 === sha256, sha256}
  }

  const results: PublishFileResult[] = []
  const handle = async (file: string): Promise<PublishFileResult> => {
    throwIfAborted(options.signal, 'Publish')
    const key = joinKey(videoId, file)
    const local = path.join(packageDir, file)
    const sizeBytes = sizes.get(file) as number
    const result = await withRetries(async () => {
      const known = await compareWithStored(key, local, sizeBytes)
      if (known.same) return {file, key, sizeBytes, action: 'skip' as const}
      if (!options.dryRun) {
        const sha256 = known.sha256 ?? (await sha256OfFile(local))
        await storage.putFile(key, local, {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256, sizeBytes}, options.signal)
      }

      return {file, key, sizeBytes, action: 'upload' as const}
    }, {
      ...retry,
      onRetry: (error, attempt) => options.onRetry?.(file, attempt, error),
    }).catch((error: unknown) => {
      if (error instanceof ExternalError || (error as Error)?.name === 'CancelledError') throw error
      throw new ExternalError(`Could not publish ${file} to ${storage.uri}: ${(error as Error).message ?? String(error)}`, {cause: error})
    })
    filesDone += 1
    bytesDone += sizeBytes
    if (result.action === 'upload' && !options.dryRun) bytesUploaded += sizeBytes
    report()
    return result
  }

  for (const phase of PHASE_ORDER) {
    const inPhase = files.filter((file) => file.phase === phase).map((file) => file.file)
    results.push(...(await mapConcurrent(inPhase, options.concurrency ?? DEFAULT_PUBLISH_CONCURRENCY, handle)))
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

  if (!options.dryRun) {
    await withCatalog({url: options.db, dataDir: options.dataDir}, (catalog) =>
      upsertVideo(catalog, {id: videoId, title: options.title ?? videoId, status: 'ready', packageLocation: location, manifest}),
    )
    if (options.invalidate && changedManifests.length > 0) result.invalidation = await invalidateCdn(changedManifests, options.invalidate)
  }

  result.seconds = Math.round((Date.now() - started) / 10) / 100
  return result
}
