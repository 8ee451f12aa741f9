/** Storage in a local folder (file:// or a plain path): temp name, then rename, so readers never see half a file. */
import {randomBytes} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {copyFile, readdir, rename, rm, stat} from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'

import {ensureDir} from '../files.js'
import {fileSystemError} from '../system-errors.js'
import {sha256OfFile} from './checksum.js'
import {assertSafeKey, type HeadOptions, type ObjectInfo, type PutOptions, type PutResult, type Storage} from './storage.js'

export class LocalStorage implements Storage {
  readonly uri: string

  constructor(readonly root: string) {
    this.uri = `file://${root}`
  }

  private pathOf(key: string): string {
    return path.join(this.root, assertSafeKey(key))
  }

  async putFile(key: string, file: string, _options: PutOptions): Promise<PutResult> {
    const target = this.pathOf(key)
    await ensureDir(path.dirname(target))
    const temporary = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(4).toString('hex')}`)
    try {
      await copyFile(file, temporary)
      await rename(temporary, target)
      return {}
    } catch (error) {
      await rm(temporary, {force: true})
      throw fileSystemError(error, target, 'write')
    }
  }

  async get(key: string, range?: {start: number; end: number}): Promise<Readable> {
    return createReadStream(this.pathOf(key), range ? {start: range.start, end: range.end} : {})
  }

  async head(key: string, options: HeadOptions = {}): Promise<ObjectInfo | undefined> {
    const file = this.pathOf(key)
    let info
    try {
      info = await stat(file)
    } catch {
      return undefined
    }

    if (!info.isFile()) return undefined
    // A local file is its own checksum source: reading it back is cheaper than any sidecar.
    const sha256 = options.sha256 ? await sha256OfFile(file, info.size) : undefined
    return {key, sizeBytes: info.size, modified: info.mtime, ...(sha256 ? {sha256} : {})}
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const base = path.join(this.root, prefix.split('/').slice(0, -1).join('/'))
    let entries: string[]
    try {
      entries = (await readdir(base, {recursive: true})) as string[]
    } catch {
      return
    }

    for (const entry of entries.sort()) {
      const key = path.relative(this.root, path.join(base, entry)).split(path.sep).join('/')
      if (!key.startsWith(prefix) || path.basename(key).startsWith('.')) continue
      const info = await stat(path.join(this.root, key))
      if (info.isFile()) yield {key, sizeBytes: info.size}
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), {force: true})))
  }
}
