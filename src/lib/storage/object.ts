/** One object of a storage, named by a URI ("s3://bucket/dir/name.mp4"), and its copy to a local file. */
import {randomBytes} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {rename} from 'node:fs/promises'
import {pipeline} from 'node:stream/promises'

import {UserError} from '../errors.js'
import {removeQuietly} from '../files.js'
import {openStorage, type StorageConfig} from './open.js'
import type {Storage} from './storage.js'

/** The storage holding an object URI's parent, and the object's key in it. */
export async function openObject(uri: string, config: StorageConfig): Promise<{storage: Storage; key: string}> {
  const slash = uri.lastIndexOf('/')
  const key = uri.slice(slash + 1)
  if (!key) throw new UserError(`Input URI names no object: ${uri}`)
  return {storage: await openStorage(uri.slice(0, slash), config), key}
}

/** Copies one object to a local file, streamed, appearing only when complete (a unique partial name: copies may run at once). */
export async function downloadObject(storage: Storage, key: string, file: string): Promise<void> {
  const partial = `${file}.${randomBytes(4).toString('hex')}.part`
  try {
    await pipeline(await storage.get(key), createWriteStream(partial))
    await rename(partial, file)
  } catch (error) {
    await removeQuietly(partial)
    throw error
  }
}
