/** Opens a storage by URI: a plain path or file://, s3://bucket/prefix, hdfs://namenode:port/path. */
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {UserError} from '../errors.js'
import {LocalStorage} from './local.js'
import type {Storage} from './storage.js'

export interface StorageConfig {
  /** --s3-endpoint / LIVECTL_S3_ENDPOINT */
  s3Endpoint?: string
  /** --hdfs-user / LIVECTL_HDFS_USER (WebHDFS user.name) */
  hdfsUser?: string
  /** --hdfs-delegation-token / LIVECTL_HDFS_DELEGATION_TOKEN */
  hdfsDelegationToken?: string
}

/**
 * The storage settings out of a larger options object (a command's, a job's environment), the one
 * place they are copied: whatever else the object holds stays behind.
 */
export function storageConfigOf(options: StorageConfig): StorageConfig {
  return {s3Endpoint: options.s3Endpoint, hdfsUser: options.hdfsUser, hdfsDelegationToken: options.hdfsDelegationToken}
}

/** Whether a location is a URI (s3://, hdfs://, file://, ...) rather than a plain path. */
export function isStorageUri(location: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location)
}

/** Opens a storage; the S3 and HDFS clients are loaded only when such a URI is opened. */
export async function openStorage(uri: string, config: StorageConfig = {}): Promise<Storage> {
  if (uri.startsWith('s3://')) {
    const [bucket, ...rest] = uri.slice('s3://'.length).split('/')
    if (!bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new UserError(`Invalid S3 bucket in ${uri}`)
    const {S3Storage} = await import('./s3.js')
    return new S3Storage({bucket, prefix: rest.filter(Boolean).join('/'), endpoint: config.s3Endpoint})
  }

  if (uri.startsWith('hdfs://')) {
    let url: URL
    try {
      url = new URL(uri)
    } catch {
      throw new UserError(`Invalid HDFS URI ${uri}`)
    }

    const {HdfsStorage} = await import('./hdfs.js')
    return new HdfsStorage({namenode: `http://${url.host}`, root: url.pathname.replace(/\/$/, '') || '/', user: config.hdfsUser, delegationToken: config.hdfsDelegationToken})
  }

  if (uri.startsWith('file://')) return new LocalStorage(fileURLToPath(uri))
  if (isStorageUri(uri)) throw new UserError(`Unknown storage URI ${uri}`, {hint: 'Use a folder path, file://, s3://bucket/prefix or hdfs://namenode:port/path.'})
  return new LocalStorage(path.resolve(uri))
}
