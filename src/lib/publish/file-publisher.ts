/**
 * One file of a package to storage, the way `publish` does it for every file: skip it when the
 * storage already holds the same bytes, else upload it, with retries. What "the same" costs:
 *
 * - One listing of the video's prefix, made once, gives every stored key, size and (S3) ETag.
 * - A file that is not listed, or listed with another size, is uploaded: only its SHA-256 is read,
 *   because it goes into the object's metadata; S3's answer to the upload gives the ETag.
 * - A listed file of the same size is compared by ETag: the one remembered in the digest cache
 *   while the file's stat is unchanged (no read at all), else the ETag computed from the file.
 * - Where the listing has no usable ETag (a local folder, HDFS, S3 with SSE-KMS), a HEAD compares
 *   the SHA-256 stored with the object.
 */
import type {BigIntStats} from 'node:fs'
import path from 'node:path'

import {cacheControlFor, contentTypeFor} from '../package/media-types.js'
import {CancelledError, ExternalError, throwIfAborted, UserError} from '../errors.js'
import {digestsOfFile, sha256OfFile} from '../storage/checksum.js'
import {MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES} from '../storage/s3-config.js'
import {joinKey, type ObjectInfo, type Storage} from '../storage/storage.js'
import type {DigestCache, KnownDigests} from './digest-cache.js'
import {type RetryOptions, withRetries} from '../retry.js'

/** The digest cache's key for ETags computed with livectl's multipart settings. */
export const ETAG_SCHEME = `${MULTIPART_THRESHOLD_BYTES}/${MULTIPART_PART_BYTES}`

export interface PublishFileResult {
  file: string
  key: string
  sizeBytes: number
  action: 'upload' | 'skip'
}

export interface FilePublisherOptions {
  storage: Storage
  /** Directory the files are read from; `publish(file)` names files relative to it. */
  dir: string
  /** Key prefix in storage (the video id). */
  prefix: string
  digestCache: DigestCache
  retry: RetryOptions
  dryRun?: boolean
  signal?: AbortSignal
  onRetry?: (file: string, attempt: number, error: unknown) => void
}

export type FilePublisher = (file: string, info: BigIntStats) => Promise<PublishFileResult>

/** Lists the prefix once, then returns the function that publishes one file. */
export async function createFilePublisher(options: FilePublisherOptions): Promise<FilePublisher> {
  const {storage, digestCache} = options
  const stored = new Map<string, ObjectInfo>()
  await withRetries(async () => {
    stored.clear()
    for await (const object of storage.list(`${options.prefix}/`)) stored.set(object.key, object)
  }, options.retry)

  /** The digests known for a file, completed by reading it only for what is asked and not known. */
  const digestsOf = async (file: string, info: BigIntStats, need: 'sha256' | 'etag'): Promise<KnownDigests> => {
    const cached = digestCache.get(file, info)
    if (cached && (need === 'sha256' || cached.etag)) return cached
    const hashedAtNs = BigInt(Date.now()) * 1_000_000n
    const local = path.join(options.dir, file)
    const digests = need === 'etag'
      ? await digestsOfFile(local, Number(info.size), MULTIPART_THRESHOLD_BYTES, MULTIPART_PART_BYTES)
      : {sha256: await sha256OfFile(local, Number(info.size))}
    digestCache.set(file, info, digests, hashedAtNs)
    return digests
  }

  const isStored = async (key: string, file: string, info: BigIntStats): Promise<boolean> => {
    const existing = stored.get(key)
    if (!existing || existing.sizeBytes !== Number(info.size)) return false
    if (existing.etag && existing.etag === (await digestsOf(file, info, 'etag')).etag) return true
    return (await storage.head(key, {sha256: true}))?.sha256 === (await digestsOf(file, info, 'sha256')).sha256
  }

  return async (file, info) => {
    throwIfAborted(options.signal, 'Publish')
    const key = joinKey(options.prefix, file)
    const sizeBytes = Number(info.size)
    return withRetries(async () => {
      if (await isStored(key, file, info)) return {file, key, sizeBytes, action: 'skip' as const}
      if (!options.dryRun) {
        const hashedAtNs = BigInt(Date.now()) * 1_000_000n
        const {sha256} = await digestsOf(file, info, 'sha256')
        const {etag} = await storage.putFile(key, path.join(options.dir, file), {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256, sizeBytes}, options.signal)
        // What the store says the object's ETag is, as its listing will say next time.
        if (etag) digestCache.set(file, info, {sha256, etag}, hashedAtNs)
      }

      return {file, key, sizeBytes, action: 'upload' as const}
    }, {
      ...options.retry,
      onRetry: (error, attempt) => options.onRetry?.(file, attempt, error),
    }).catch((error: unknown) => {
      // A user error (a bucket that does not exist, refused credentials) says what to fix already; cancelling is not a failure.
      if (error instanceof UserError || error instanceof CancelledError) throw error
      throw new ExternalError(`Could not publish ${file} to ${storage.uri}: ${(error as Error).message ?? String(error)}`, {cause: error, hint: (error as ExternalError).hint})
    })
  }
}
