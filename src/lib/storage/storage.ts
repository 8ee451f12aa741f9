/**
 * One storage interface with real alternatives (a local folder, S3, HDFS over WebHDFS), chosen by
 * URI. Objects are addressed by keys relative to the storage root ("talk/seg-0-00001.m4s").
 * Everything streams: memory stays flat whatever the object size.
 */
import type {Readable} from 'node:stream'

import {UserError} from '../errors.js'

export interface PutOptions {
  contentType: string
  cacheControl: string
  /** SHA-256 of the content, hex; stored with the object so a later publish can skip it. */
  sha256: string
  sizeBytes: number
}

export interface ObjectInfo {
  key: string
  sizeBytes: number
  /** As stored by livectl's put; undefined for objects written by something else. */
  sha256?: string
  /** The store's entity tag, where a listing gives one (S3: the MD5, or the multipart ETag). */
  etag?: string
  /** When the object was last written, where the store says (not from listings). */
  modified?: Date
}

export interface HeadOptions {
  /**
   * Also give the SHA-256 where the store does not keep it beside the object (a local folder
   * computes it by reading the whole file). Without it, `head` is one cheap metadata request.
   */
  sha256?: boolean
}

export interface PutResult {
  /** The entity tag the store gave the new object, where it gives one (S3), as a listing will show it. */
  etag?: string
}

export interface Storage {
  /** The URI this storage was opened with, for messages (no secrets). */
  readonly uri: string
  /** Uploads a local file under `key`, replacing what is there; readers never see a partial object. */
  putFile(key: string, file: string, options: PutOptions, signal?: AbortSignal): Promise<PutResult>
  /** Reads an object, or a byte range of it (inclusive end). */
  get(key: string, range?: {start: number; end: number}): Promise<Readable>
  /** Size, modification time and the stored checksum, or undefined when there is no such object. */
  head(key: string, options?: HeadOptions): Promise<ObjectInfo | undefined>
  /** Every object whose key starts with `prefix` (with its ETag where the store lists one). */
  list(prefix: string): AsyncIterable<ObjectInfo>
  delete(keys: readonly string[]): Promise<void>
  /** Public URL of an object when the storage has one (S3 endpoint), for players without a CDN. */
  publicUrl?(key: string): string
}

/** A key must be a relative path of safe segments: nothing can climb out of the storage root. */
export function assertSafeKey(key: string): string {
  const segments = key.split('/')
  if (key.length === 0 || key.length > 1024 || segments.some((segment) => !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(segment) || segment.includes('..'))) {
    throw new UserError(`Invalid storage key ${JSON.stringify(key)}`)
  }

  return key
}

export function joinKey(...parts: string[]): string {
  return parts.filter(Boolean).join('/').replace(/\/+/g, '/').replace(/^\/|\/$/g, '')
}

/**
 * Where a video's package lives: the storage's URI (file:///..., s3://bucket/prefix, hdfs://...)
 * and the video's prefix, the form the catalog records. Readers open it with openStorage, which
 * also takes the plain paths older rows hold.
 */
export function packageLocation(storage: Pick<Storage, 'uri'>, videoId: string): string {
  return `${storage.uri.replace(/\/$/, '')}/${assertSafeKey(videoId)}`
}
