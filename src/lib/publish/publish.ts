/**
 * `publishPackage`: a `segment` package to storage (folder, S3, HDFS), idempotent and resumable,
 * segments before manifests, then registered in the catalog and optionally invalidated on a CDN.
 */
import type {BigIntStats} from 'node:fs'
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
import {digestsOfFile, type FileDigests} from '../storage/checksum.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import {MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES} from '../storage/s3-config.js'
import {joinKey, type ObjectInfo} from '../storage/storage.js'
import {type InvalidationOptions, type InvalidationResult, invalidateCdn} from '../cdn/invalidate.js'
import {DigestCache} from './digest-cache.js'
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
  const storage = await openStorage(options.to, options)
  const files = planPublish(manifest)
  const stats = new Map<string, BigIntStats>()
  await mapConcurrent(files, 16, async ({file}) => {
    stats.set(file, await stat(path.join(packageDir, file), {bigint: true}))
  })
  const sizeOf = (file: string) => Number((stats.get(file) as BigIntStats).size)
  const bytesTotal = files.reduce((sum, {file}) => sum + sizeOf(file), 0)
  const digestCache = await DigestCache.open(options.dataDir, packageDir, `${MULTIPART_THRESHOLD_BYTES}/${MULTIPART_PART_BYTES}`)
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
  /** SHA-256 and ETag of a package file: from the digest cache while its stat is unchanged, else read once. */
  const digestsOf = async (file: string): Promise<FileDigests> => {
    const info = stats.get(file) as BigIntStats
    const cached = digestCache.get(file, info)
    if (cached) return cached
    const hashedAtNs = BigInt(Date.now()) * 1_000_000n
    const digests = await digestsOfFile(path.join(packageDir, file), Number(info.size), MULTIPART_THRESHOLD_BYTES, MULTIPART_PART_BYTES)
    digestCache.set(file, info, digests, hashedAtNs)
    return digests
  }

  /** Whether storage holds this file already, asking storage nothing beyond the one listing where it can. */
  const isStored = async (key: string, file: string, digests: FileDigests): Promise<boolean> => {
    const existing = stored.get(key)
    if (!existing || existing.sizeBytes !== sizeOf(file)) return false
    if (existing.etag && existing.etag === digests.etag) return true
    // No usable ETag (a local folder, HDFS, S3 with SSE-KMS): compare the SHA-256 stored with the object.
    return (await storage.head(key))?.sha256 === digests.sha256
  }

  const results: PublishFileResult[] = []
  const handle = async (file: string): Promise<PublishFileResult> => {
    throwIfAborted(options.signal, 'Publish')
    const key = joinKey(videoId, file)
    const local = path.join(packageDir, file)
    const sizeBytes = sizeOf(file)
    const result = await withRetries(async () => {
      const digests = await digestsOf(file)
      if (await isStored(key, file, digests)) return {file, key, sizeBytes, action: 'skip' as const}
      if (!options.dryRun) {
        await storage.putFile(key, local, {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256: digests.sha256, sizeBytes}, options.signal)
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

  if (!options.dryRun) {
    await withCatalog({url: options.db, dataDir: options.dataDir}, (catalog) =>
      upsertVideo(catalog, {id: videoId, title: options.title ?? videoId, status: 'ready', packageLocation: location, manifest}),
    )
    if (options.invalidate && changedManifests.length > 0) result.invalidation = await invalidateCdn(changedManifests, options.invalidate)
  }

  result.seconds = Math.round((Date.now() - started) / 10) / 100
  return result
}
