/** HDFS over WebHDFS against a spec-faithful NameNode/DataNode test server. */
import {createHash, randomBytes} from 'node:crypto'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {ExternalError} from '../../src/lib/errors.js'
import {publishPackage} from '../../src/lib/publish/publish.js'
import {HdfsStorage} from '../../src/lib/storage/hdfs.js'
import {openStorage} from '../../src/lib/storage/open.js'
import {makeTempDir} from '../support/media.js'
import {makePackage} from '../support/package.js'
import {startWebHdfs, type WebHdfsServer} from '../support/webhdfs-server.js'

let work: {dir: string; cleanup: () => Promise<void>}
let hdfs: WebHdfsServer
let packageDir: string

const sha256 = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex')

beforeAll(async () => {
  work = await makeTempDir('livectl-hdfs-')
  hdfs = await startWebHdfs()
  ;({packageDir} = await makePackage(work.dir))
})

afterAll(async () => {
  await hdfs?.close()
  await work?.cleanup()
})

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks)
}

describe('HDFS storage', () => {
  it('round-trips a 20 MiB file through the DataNode redirect, with its checksum and ranges', async () => {
    const storage = await openStorage(`hdfs://${new URL(hdfs.namenode).host}/media`, {hdfsUser: 'livectl'})
    const content = randomBytes(20 * 1024 * 1024)
    const file = path.join(work.dir, 'big.bin')
    await writeFile(file, content)
    await storage.putFile('v/big.bin', file, {contentType: 'video/mp4', cacheControl: 'no-cache', sha256: sha256(content), sizeBytes: content.length})
    expect(await storage.head('v/big.bin')).toMatchObject({key: 'v/big.bin', sizeBytes: content.length, sha256: sha256(content)})
    expect((await storage.head('v/big.bin'))?.modified).toBeInstanceOf(Date)
    expect(sha256(await readAll(await storage.get('v/big.bin')))).toBe(sha256(content))
    expect(await readAll(await storage.get('v/big.bin', {start: 5, end: 9}))).toEqual(content.subarray(5, 10))
    expect(hdfs.users).toContain('livectl')
    expect([...hdfs.files.keys()].filter((key) => key.includes('.tmp-'))).toEqual([])
  })

  it('lists by prefix and deletes', async () => {
    const storage = new HdfsStorage({namenode: hdfs.namenode, root: '/listing', user: 'livectl'})
    const file = path.join(work.dir, 'small.bin')
    await writeFile(file, 'x')
    for (const key of ['a/1.m4s', 'a/2.m4s', 'b/1.m4s']) await storage.putFile(key, file, {contentType: 'x', cacheControl: 'x', sha256: sha256(Buffer.from('x')), sizeBytes: 1})
    const listed: string[] = []
    for await (const object of storage.list('a/')) listed.push(object.key)
    expect(listed).toEqual(['a/1.m4s', 'a/2.m4s'])
    await storage.delete(['a/1.m4s'])
    expect(await storage.head('a/1.m4s')).toBeUndefined()
  })

  it('turns RemoteException answers into errors', async () => {
    const storage = new HdfsStorage({namenode: hdfs.namenode, root: '/nowhere', user: 'livectl'})
    await expect(storage.get('missing.m4s')).rejects.toThrow(/FileNotFoundException: File does not exist: \/nowhere\/missing\.m4s/)
    await expect(storage.get('missing.m4s')).rejects.toBeInstanceOf(ExternalError)
  })

  it('fails loudly when the NameNode answers CREATE without redirecting to a DataNode', async () => {
    const http = await import('node:http')
    const liar = http.createServer((request, response) => {
      const op = new URL(request.url ?? '/', 'http://x').searchParams.get('op')
      response.writeHead(op === 'MKDIRS' ? 200 : 201, {'content-type': 'application/json'})
      response.end(op === 'MKDIRS' ? '{"boolean":true}' : '')
    })
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve))
    const {port} = liar.address() as {port: number}
    const storage = new HdfsStorage({namenode: `http://127.0.0.1:${port}`, root: '/m'})
    const file = path.join(work.dir, 'one.bin')
    await writeFile(file, 'data')
    await expect(storage.putFile('a.m4s', file, {contentType: 'x', cacheControl: 'x', sha256: 'x', sizeBytes: 4})).rejects.toThrow(/without redirecting to a DataNode; nothing was written/)
    liar.close()
  })

  it('fails loudly when MKDIRS answers {"boolean": false}', async () => {
    const storage = new HdfsStorage({namenode: hdfs.namenode, root: '/clash', user: 'livectl'})
    const file = path.join(work.dir, 'clash.bin')
    await writeFile(file, 'x')
    await storage.putFile('dir', file, {contentType: 'x', cacheControl: 'x', sha256: 'x', sizeBytes: 1})
    // "dir" is now a file: a key under it needs MKDIRS /clash/dir, which HDFS refuses with {"boolean": false}.
    await expect(storage.putFile('dir/child.m4s', file, {contentType: 'x', cacheControl: 'x', sha256: 'x', sizeBytes: 1})).rejects.toThrow(/MKDIRS \/clash\/dir was refused/)
  })
})

describe('publish to HDFS', () => {
  it('publishes a package, survives a DataNode that dies mid-write, and uploads nothing on a re-run', async () => {
    const to = `hdfs://${new URL(hdfs.namenode).host}/vod`
    hdfs.failWrites(/seg-0-00002\.m4s/, 2)
    const retried: string[] = []
    const first = await publishPackage({packageDir, to, hdfsUser: 'livectl', videoId: 'talk', dataDir: path.join(work.dir, 'data'), retryBaseMs: 5, onRetry: (file) => retried.push(file)})
    const files = (await readdir(packageDir)).sort()
    expect(first.uploaded).toBe(files.length)
    expect(retried.filter((file) => file === 'seg-0-00002.m4s')).toHaveLength(2)
    for (const file of files) {
      expect(sha256(hdfs.files.get(`/vod/talk/${file}`)?.data ?? Buffer.alloc(0)), file).toBe(sha256(await readFile(path.join(packageDir, file))))
    }

    expect([...hdfs.files.keys()].filter((key) => key.includes('.tmp-'))).toEqual([])
    const again = await publishPackage({packageDir, to, hdfsUser: 'livectl', videoId: 'talk', dataDir: path.join(work.dir, 'data')})
    expect(again).toMatchObject({uploaded: 0, skipped: files.length})
  })
})
