/**
 * S3 (and S3-compatible stores: MinIO, Ceph, R2) with the AWS SDK's standard configuration:
 * credential chain, AWS_REGION, AWS_ENDPOINT_URL_S3. A custom endpoint gets path-style addressing
 * and checksums only when required, which such stores accept (the SDK's default streaming
 * checksums are stored corrupted by some of them: s3rver keeps the aws-chunked framing in the object).
 */
import {createReadStream, type ReadStream} from 'node:fs'
import type {Readable} from 'node:stream'

import {DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type PutObjectCommandInput, S3Client} from '@aws-sdk/client-s3'

import {ExternalError, LivectlError, UserError} from '../errors.js'
import {closeFileStream} from '../files.js'
import {connectionError} from '../system-errors.js'
import {MULTIPART_PART_BYTES, MULTIPART_QUEUE, MULTIPART_THRESHOLD_BYTES, QUIET_LOGGER} from './s3-config.js'
import {joinKey, type ObjectInfo, type PutOptions, type PutResult, type Storage, assertSafeKey} from './storage.js'

export {MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES, QUIET_LOGGER} from './s3-config.js'

export interface S3Options {
  bucket: string
  prefix: string
  /** --s3-endpoint / LIVECTL_S3_ENDPOINT; AWS_ENDPOINT_URL_S3 is read by the SDK itself. */
  endpoint?: string
  region?: string
}

function createS3Client(options: {endpoint?: string; region?: string}): S3Client {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? {endpoint, forcePathStyle: true} : {}),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // livectl retries with backoff itself and reports the last failure by file name.
    maxAttempts: 1,
    logger: QUIET_LOGGER,
  })
}

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError', 'TokenRefreshRequired'])

/**
 * What an S3 failure means for the user: a bucket that does not exist or credentials that are
 * refused are theirs to fix (exit 2); an endpoint that does not answer or a 5xx is the service's
 * (exit 3, worth retrying). Either way the bucket and the endpoint are named.
 */
function describeS3Error(error: unknown, context: {bucket: string; key?: string; action: string; endpoint?: string}): LivectlError {
  if (error instanceof LivectlError) return error
  const endpoint = context.endpoint ?? 'AWS'
  const unreachable = connectionError(error, 'S3', endpoint)
  if (unreachable) return unreachable
  const failure = error as {name?: string; message?: string; $metadata?: {httpStatusCode?: number}}
  const name = failure.name ?? 'Error'
  const status = failure.$metadata?.httpStatusCode
  const target = `s3://${context.bucket}${context.key ? `/${context.key}` : ''}`
  if (name === 'NoSuchBucket') {
    return new UserError(`The S3 bucket "${context.bucket}" does not exist (endpoint ${endpoint})`, {cause: error, hint: `Create it first (aws s3 mb s3://${context.bucket}), or fix the bucket in --to.`})
  }

  if (CREDENTIAL_ERRORS.has(name)) return new UserError(`S3 refused the credentials to ${context.action} ${target}: ${name}`, {cause: error, hint: 'Check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION.'})
  if (name === 'AccessDenied' || status === 403) return new UserError(`S3 denied access to ${context.action} ${target}`, {cause: error, hint: 'Check the bucket policy and the permissions of these credentials.'})
  const retryable = status === undefined || status >= 500 || status === 429
  return new ExternalError(`S3 could not ${context.action} ${target}: ${name}${status ? ` (HTTP ${status})` : ''}${failure.message && failure.message !== name ? `: ${failure.message}` : ''}`, {cause: error, retryable})
}

export class S3Storage implements Storage {
  readonly uri: string
  readonly client: S3Client
  private readonly endpoint?: string

  constructor(private readonly options: S3Options) {
    this.uri = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`
    this.endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3
    this.client = createS3Client(options)
  }

  private keyOf(key: string): string {
    return joinKey(this.options.prefix, assertSafeKey(key))
  }

  async putFile(key: string, file: string, options: PutOptions, signal?: AbortSignal): Promise<PutResult> {
    const params = {
      Bucket: this.options.bucket,
      Key: this.keyOf(key),
      ContentType: options.contentType,
      CacheControl: options.cacheControl,
      Metadata: {sha256: options.sha256},
    }
    // The body's file is closed here on every path: the SDK leaves a stream it did not read to the
    // end open when S3 answers early or the connection resets (one descriptor per failed upload).
    const body = createReadStream(file)
    try {
      return await this.upload(params, body, options.sizeBytes, key, signal)
    } finally {
      await closeFileStream(body)
    }
  }

  private async upload(params: PutObjectCommandInput, body: ReadStream, sizeBytes: number, key: string, signal?: AbortSignal): Promise<PutResult> {
    if (sizeBytes <= MULTIPART_THRESHOLD_BYTES) {
      try {
        const response = await this.client.send(new PutObjectCommand({...params, Body: body, ContentLength: sizeBytes}), {abortSignal: signal})
        return {etag: response.ETag?.replace(/"/g, '')}
      } catch (error) {
        throw this.describe(error, 'upload', key, signal)
      }
    }

    // lib-storage only for files big enough to need it: it is a tenth of a second of start-up.
    const {Upload} = await import('@aws-sdk/lib-storage')
    const upload = new Upload({
      client: this.client,
      // Default-sized reads: lib-storage assembles the parts itself, so bigger chunks only add copies.
      params: {...params, Body: body},
      partSize: MULTIPART_PART_BYTES,
      queueSize: MULTIPART_QUEUE,
      leavePartsOnError: false,
    })
    const abort = () => void upload.abort()
    signal?.addEventListener('abort', abort, {once: true})
    try {
      const response = await upload.done()
      return {etag: response.ETag?.replace(/"/g, '')}
    } catch (error) {
      throw this.describe(error, 'upload', key, signal)
    } finally {
      signal?.removeEventListener('abort', abort)
    }
  }

  /** An S3 failure in words; a cancelled request stays what it was, so cancellation is recognised upstream. */
  private describe(error: unknown, action: string, key?: string, signal?: AbortSignal): unknown {
    if (signal?.aborted) return error
    return describeS3Error(error, {bucket: this.options.bucket, key: key === undefined ? undefined : this.keyOf(key), action, endpoint: this.endpoint})
  }

  async get(key: string, range?: {start: number; end: number}): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({
        Bucket: this.options.bucket,
        Key: this.keyOf(key),
        ...(range ? {Range: `bytes=${range.start}-${range.end}`} : {}),
      }))
      return response.Body as Readable
    } catch (error) {
      throw this.describe(error, 'read', key)
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({Bucket: this.options.bucket, Key: this.keyOf(key)}))
      return {key, sizeBytes: Number(response.ContentLength ?? 0), sha256: response.Metadata?.sha256, etag: response.ETag?.replace(/"/g, ''), modified: response.LastModified}
    } catch (error) {
      const status = (error as {$metadata?: {httpStatusCode?: number}}).$metadata?.httpStatusCode
      if (status === 404 || (error as Error).name === 'NotFound') return undefined
      throw this.describe(error, 'look at', key)
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = this.options.prefix ? `${this.options.prefix}/` : ''
    let token: string | undefined
    do {
      let page
      try {
        page = await this.client.send(new ListObjectsV2Command({Bucket: this.options.bucket, Prefix: `${base}${prefix}`, ContinuationToken: token}))
      } catch (error) {
        throw this.describe(error, 'list')
      }

      for (const object of page.Contents ?? []) {
        if (object.Key) yield {key: object.Key.slice(base.length), sizeBytes: Number(object.Size ?? 0), etag: object.ETag?.replace(/"/g, '')}
      }

      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000)
      try {
        await this.client.send(new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: {Objects: batch.map((key) => ({Key: this.keyOf(key)})), Quiet: true},
        }))
      } catch (error) {
        throw this.describe(error, 'delete objects in')
      }
    }
  }

  publicUrl(key: string): string {
    const objectKey = this.keyOf(key).split('/').map(encodeURIComponent).join('/')
    if (this.endpoint) return `${this.endpoint.replace(/\/$/, '')}/${this.options.bucket}/${objectKey}`
    const region = process.env.AWS_REGION ?? 'us-east-1'
    return `https://${this.options.bucket}.s3.${region}.amazonaws.com/${objectKey}`
  }
}
