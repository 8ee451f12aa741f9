/**
 * What publish learnt about each file of a package last time: its size, modification time and
 * inode with its SHA-256 and the ETag S3 gave it. A re-run compares the storage listing with these and reads
 * no file whose stat is unchanged, as git's index and rsync's quick check do; a file whose stat
 * changed in any way is hashed again. Kept under the data directory, one file per package
 * directory; a missing or unreadable cache only costs hashing, never a wrong answer about storage
 * (the listing is always asked).
 */
import {createHash} from 'node:crypto'
import type {BigIntStats} from 'node:fs'
import {readFile} from 'node:fs/promises'
import path from 'node:path'

import {ensureDir, writeJsonAtomic} from '../files.js'

/** What is known of a file's content: its SHA-256, and the ETag S3 gives it where known. */
export interface KnownDigests {
  sha256: string
  etag?: string
}

interface CachedFile extends KnownDigests {
  size: string
  mtimeNs: string
  ino: string
}

interface CacheFile {
  version: 1
  packageDir: string
  /** Multipart settings the ETags were computed with. */
  etagScheme: string
  files: Record<string, CachedFile>
}

/**
 * A file modified this close to when it was hashed may change again within the same timestamp
 * tick without its stat changing ("racy git"): such digests are used once but not remembered.
 */
const RACY_WINDOW_NS = 2_000_000_000n

export class DigestCache {
  private dirty = false

  private constructor(
    private readonly file: string,
    private readonly data: CacheFile,
  ) {}

  static fileFor(dataDir: string, packageDir: string): string {
    const name = createHash('sha256').update(path.resolve(packageDir)).digest('hex').slice(0, 32)
    return path.join(dataDir, 'cache', 'publish-digests', `${name}.json`)
  }

  static async open(dataDir: string, packageDir: string, etagScheme: string): Promise<DigestCache> {
    const file = DigestCache.fileFor(dataDir, packageDir)
    const empty: CacheFile = {version: 1, packageDir: path.resolve(packageDir), etagScheme, files: {}}
    try {
      const data = JSON.parse(await readFile(file, 'utf8')) as CacheFile
      const usable = data.version === 1 && data.packageDir === empty.packageDir && data.etagScheme === etagScheme && typeof data.files === 'object'
      return new DigestCache(file, usable ? data : empty)
    } catch {
      return new DigestCache(file, empty)
    }
  }

  /** The digests of `name` if its stat is exactly what it was when they were computed. */
  get(name: string, info: BigIntStats): KnownDigests | undefined {
    const cached = Object.hasOwn(this.data.files, name) ? this.data.files[name] : undefined
    if (!cached || cached.size !== String(info.size) || cached.mtimeNs !== String(info.mtimeNs) || cached.ino !== String(info.ino)) return undefined
    return {sha256: cached.sha256, ...(cached.etag ? {etag: cached.etag} : {})}
  }

  set(name: string, info: BigIntStats, digests: KnownDigests, hashedAtNs: bigint): void {
    if (hashedAtNs - info.mtimeNs < RACY_WINDOW_NS) return
    this.data.files[name] = {size: String(info.size), mtimeNs: String(info.mtimeNs), ino: String(info.ino), sha256: digests.sha256, ...(digests.etag ? {etag: digests.etag} : {})}
    this.dirty = true
  }

  /** Written whole under a temporary name; a failure to write it is not a failure to publish. */
  async save(): Promise<void> {
    if (!this.dirty) return
    try {
      await ensureDir(path.dirname(this.file))
      await writeJsonAtomic(this.file, this.data)
      this.dirty = false
    } catch {
      // A read-only data directory only means the next run hashes again.
    }
  }
}
