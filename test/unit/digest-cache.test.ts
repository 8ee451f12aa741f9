import {mkdtemp, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {DigestCache} from '../../src/lib/publish/digest-cache.js'

const digests = {sha256: 'a'.repeat(64), etag: 'b'.repeat(32)}
const SCHEME = '16777216/8388608'
const nowNs = () => BigInt(Date.now()) * 1_000_000n

let dir: string
let file: string

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'digest-cache-'))
  file = path.join(dir, 'seg.m4s')
  await writeFile(file, 'segment bytes')
  const hourAgo = new Date(Date.now() - 3_600_000)
  await utimes(file, hourAgo, hourAgo)
})

afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

describe('publish digest cache', () => {
  it('gives back saved digests while the stat is unchanged', async () => {
    const cache = await DigestCache.open(dir, dir, SCHEME)
    const info = await stat(file, {bigint: true})
    expect(cache.get('seg.m4s', info)).toBeUndefined()
    cache.set('seg.m4s', info, digests, nowNs())
    await cache.save()

    const reopened = await DigestCache.open(dir, dir, SCHEME)
    expect(reopened.get('seg.m4s', await stat(file, {bigint: true}))).toEqual(digests)
  })

  it('forgets a file whose size, modification time or inode changed', async () => {
    const cache = await DigestCache.open(dir, dir, SCHEME)
    cache.set('seg.m4s', await stat(file, {bigint: true}), digests, nowNs())
    const later = new Date(Date.now() - 1_800_000)
    await utimes(file, later, later)
    expect(cache.get('seg.m4s', await stat(file, {bigint: true}))).toBeUndefined()

    await writeFile(file, 'other segment bytes')
    expect(cache.get('seg.m4s', await stat(file, {bigint: true}))).toBeUndefined()
  })

  it('does not remember a file modified just before it was hashed', async () => {
    const cache = await DigestCache.open(dir, dir, SCHEME)
    await writeFile(file, 'fresh')
    const info = await stat(file, {bigint: true})
    cache.set('seg.m4s', info, digests, nowNs())
    expect(cache.get('seg.m4s', info)).toBeUndefined()
  })

  it('starts empty from a corrupt cache, another package directory or other multipart settings', async () => {
    const info = await stat(file, {bigint: true})
    const cache = await DigestCache.open(dir, dir, SCHEME)
    cache.set('seg.m4s', info, digests, nowNs())
    await cache.save()

    expect((await DigestCache.open(dir, path.join(dir, 'other'), SCHEME)).get('seg.m4s', info)).toBeUndefined()
    expect((await DigestCache.open(dir, dir, '5242880/5242880')).get('seg.m4s', info)).toBeUndefined()
    const cacheFile = DigestCache.fileFor(dir, dir)
    expect(JSON.parse(await readFile(cacheFile, 'utf8')).files['seg.m4s']).toMatchObject(digests)
    await writeFile(cacheFile, '{"version": 1, "files": ')
    expect((await DigestCache.open(dir, dir, SCHEME)).get('seg.m4s', info)).toBeUndefined()
  })
})
