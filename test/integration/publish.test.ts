/**
 * `publish` against a local folder and against moto's S3 and CloudFront over real HTTP, with a
 * fault-injecting proxy in front of S3: order, idempotency, resume, retries, invalidation.
 */
import {createHash, randomBytes} from 'node:crypto'
import {cp, readdir, readFile, stat, utimes, writeFile} from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'

import {CloudFrontClient, CreateDistributionCommand, GetInvalidationCommand, ListInvalidationsCommand} from '@aws-sdk/client-cloudfront'
import {CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {openCatalog} from '../../src/lib/catalog/connection.js'
import {findVideoWithPackage} from '../../src/lib/catalog/videos.js'
import {CancelledError} from '../../src/lib/errors.js'
import type {PackageManifest} from '../../src/lib/package/manifest.js'
import {DigestCache} from '../../src/lib/publish/digest-cache.js'
import {isManifestFile} from '../../src/lib/publish/plan.js'
import {publishPackage} from '../../src/lib/publish/publish.js'
import {digestsOfFile} from '../../src/lib/storage/checksum.js'
import {MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES, S3Storage} from '../../src/lib/storage/s3.js'
import {runCli, startCli} from '../support/cli.js'
import {type Fault, type FaultProxy, startFaultProxy} from '../support/fault-proxy.js'
import {makeTempDir} from '../support/media.js'
import {type MotoServer, runMotoSuites, startMoto, useFakeAwsCredentials} from '../support/moto.js'
import {makePackage} from '../support/package.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}
let packageDir: string
let manifest: PackageManifest
let dataDir: string

const sha256 = (buffer: Buffer) => createHash('sha256').update(buffer).digest('hex')

beforeAll(async () => {
  work = await makeTempDir('livectl-publish-')
  ;({packageDir, manifest} = await makePackage(work.dir))
  dataDir = path.join(work.dir, 'data')
})

afterAll(async () => {
  await work?.cleanup()
})

const packageFiles = async () => (await readdir(packageDir)).filter((file) => !file.startsWith('.')).sort()

describe('publish to a local folder', () => {
  it('copies every file, registers the video, and uploads nothing on a re-run', async () => {
    const media = path.join(work.dir, 'media')
    const first = await publishPackage({packageDir, to: media, videoId: 'local', title: 'Local', dataDir})
    expect(first).toMatchObject({videoId: 'local', uploaded: (await packageFiles()).length, skipped: 0, location: `file://${media}/local`})
    expect((await readdir(path.join(media, 'local'))).sort()).toEqual(await packageFiles())
    for (const file of await packageFiles()) {
      expect(sha256(await readFile(path.join(media, 'local', file)))).toBe(sha256(await readFile(path.join(packageDir, file))))
    }

    const again = await publishPackage({packageDir, to: media, videoId: 'local', dataDir})
    expect(again).toMatchObject({uploaded: 0, skipped: first.files, bytesUploaded: 0})

    const catalog = await openCatalog({dataDir})
    try {
      expect(await findVideoWithPackage(catalog, 'local')).toMatchObject({status: 'ready', packageLocation: `file://${media}/local`, package: manifest})
    } finally {
      await catalog.close()
    }
  })

  it('replaces a file whose content changed, even at the same size', async () => {
    const media = path.join(work.dir, 'media-changed')
    await publishPackage({packageDir, to: media, videoId: 'changed', dataDir})
    const segment = manifest.renditions[0]?.segments[0]?.file as string
    const stored = path.join(media, 'changed', segment)
    const bytes = await readFile(stored)
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff
    await writeFile(stored, bytes)
    const repaired = await publishPackage({packageDir, to: media, videoId: 'changed', dataDir})
    expect(repaired.uploaded).toBe(1)
    expect(sha256(await readFile(stored))).toBe(sha256(await readFile(path.join(packageDir, segment))))
  })

  it('--dry-run lists what would be uploaded and changes nothing', async () => {
    const media = path.join(work.dir, 'media-dry')
    const result = await runCli(['publish', packageDir, '--to', media, '--video-id', 'dry', '--data-dir', dataDir, '--dry-run', '--json'])
    expect(result.exitCode).toBe(0)
    const plan = JSON.parse(result.stdout)
    expect(plan).toMatchObject({dryRun: true, uploaded: (await packageFiles()).length, skipped: 0})
    expect(plan.plan.at(-1)).toMatchObject({file: 'livectl-package.json', action: 'upload'})
    await expect(stat(media)).rejects.toThrow(/ENOENT/)
  })

  it('refuses a package that fails its check and an unsafe video id', async () => {
    const notPackage = await runCli(['publish', work.dir, '--to', path.join(work.dir, 'm'), '--data-dir', dataDir])
    expect(notPackage.exitCode).toBe(2)
    const unsafe = await runCli(['publish', packageDir, '--to', path.join(work.dir, 'm'), '--video-id', '../x', '--data-dir', dataDir])
    expect(unsafe.exitCode).toBe(2)
    expect(unsafe.stderr).toMatch(/Invalid video id/)
  })
})

describe.runIf(runMotoSuites)('publish to S3 (moto)', () => {
  let moto: MotoServer
  let proxy: FaultProxy
  let s3: S3Client
  const bucket = 'media'

  beforeAll(async () => {
    useFakeAwsCredentials()
    moto = await startMoto()
    proxy = await startFaultProxy(moto.endpoint)
    s3 = new S3Client({endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1'})
    await s3.send(new CreateBucketCommand({Bucket: bucket}))
  })

  afterAll(async () => {
    await proxy?.close()
    await moto?.stop()
  })

  const getObject = async (key: string) => {
    const response = await s3.send(new GetObjectCommand({Bucket: bucket, Key: key}))
    return Buffer.from(await (response.Body as {transformToByteArray(): Promise<Uint8Array>}).transformToByteArray())
  }

  const putsOf = (prefix: string) =>
    proxy.log.filter((entry) => entry.method === 'PUT' && (entry.fault === undefined || entry.fault === 'delay') && entry.url.startsWith(`/${bucket}/${prefix}/`)).map((entry) => decodeURIComponent(entry.url.split('?')[0]?.split('/').pop() ?? ''))

  it('uploads segments before any manifest, with content types and cache policy, and verifies on download', async () => {
    const result = await publishPackage({packageDir, to: `s3://${bucket}/vod`, s3Endpoint: proxy.url, videoId: 'talk', dataDir, concurrency: 4})
    expect(result).toMatchObject({uploaded: (await packageFiles()).length, location: `s3://${bucket}/vod/talk`})

    const order = putsOf('vod/talk')
    const lastMedia = Math.max(...order.map((file, index) => (isManifestFile(file) ? -1 : index)))
    const firstManifest = order.findIndex((file) => isManifestFile(file))
    expect(lastMedia).toBeLessThan(firstManifest)
    expect(order.indexOf('master.m3u8')).toBeGreaterThan(Math.max(...order.map((file, index) => (/^media_\d+\.m3u8$/.test(file) ? index : -1))))
    expect(order.at(-1)).toBe('livectl-package.json')

    for (const file of await packageFiles()) expect(sha256(await getObject(`vod/talk/${file}`)), file).toBe(sha256(await readFile(path.join(packageDir, file))))
    const master = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: 'vod/talk/master.m3u8'}))
    expect([master.ContentType, master.CacheControl]).toEqual(['application/vnd.apple.mpegurl', 'no-cache'])
    const segment = await s3.send(new HeadObjectCommand({Bucket: bucket, Key: `vod/talk/${manifest.renditions[0]?.segments[0]?.file}`}))
    expect([segment.ContentType, segment.CacheControl]).toEqual(['video/iso.segment', 'public, max-age=31536000, immutable'])
  })

  it('uploads nothing when run again', async () => {
    const before = proxy.log.length
    const again = await publishPackage({packageDir, to: `s3://${bucket}/vod`, s3Endpoint: proxy.url, videoId: 'talk', dataDir})
    expect(again).toMatchObject({uploaded: 0, bytesUploaded: 0})
    // One listing recognises every object by its ETag: no PUT, and not even a HEAD per file.
    expect(proxy.log.slice(before).map((entry) => entry.method)).toEqual(['GET'])
  })

  it('re-runs from cached digests without reading unchanged files, and re-reads a file that changed', async () => {
    // A package of its own, last modified an hour ago as a finished package would be.
    const copy = path.join(work.dir, 'cached-package')
    await cp(packageDir, copy, {recursive: true})
    const hourAgo = new Date(Date.now() - 3_600_000)
    for (const file of await readdir(copy)) await utimes(path.join(copy, file), hourAgo, hourAgo)
    const options = {packageDir: copy, to: `s3://${bucket}/cached`, s3Endpoint: proxy.url, videoId: 'cached', dataDir}
    const files = (await readdir(copy)).filter((file) => !file.startsWith('.')).sort()
    expect(await publishPackage(options)).toMatchObject({uploaded: files.length})
    const cacheFile = DigestCache.fileFor(dataDir, copy)
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as {files: Record<string, {etag: string; sha256: string}>}
    expect(Object.keys(cached.files).sort()).toEqual(files)
    // The ETags remembered are the ones S3 answered the uploads with, which its listing shows.
    const listed = new Map<string, string | undefined>()
    for await (const object of new S3Storage({bucket, prefix: 'cached', endpoint: proxy.url}).list('cached/')) listed.set(object.key.slice('cached/'.length), object.etag)
    for (const file of files) expect(cached.files[file]?.etag, file).toBe(listed.get(file))

    // The cache is what a re-run believes while a file's stat is unchanged: a digest planted in it
    // makes that one file look changed, so the file itself was not read.
    const segment = manifest.renditions[0]?.segments[1]?.file as string
    const planted = structuredClone(cached)
    Object.assign(planted.files[segment] as object, {etag: '0'.repeat(32), sha256: '0'.repeat(64)})
    await writeFile(cacheFile, JSON.stringify(planted))
    expect(await publishPackage(options)).toMatchObject({uploaded: 1, skipped: files.length - 1})

    // A real edit changes the stat: the file is read again and only it goes up.
    const edited = await readFile(path.join(copy, segment))
    edited[edited.length - 1] = (edited[edited.length - 1] as number) ^ 0xff
    await writeFile(path.join(copy, segment), edited)
    await utimes(path.join(copy, segment), hourAgo, new Date(Date.now() - 60_000))
    const before = proxy.log.length
    expect(await publishPackage(options)).toMatchObject({uploaded: 1})
    expect(putsOf('cached/cached').slice(-1)).toEqual([segment])
    expect(proxy.log.slice(before).filter((entry) => entry.method === 'PUT').length).toBe(1)
    expect(sha256(await getObject(`cached/cached/${segment}`))).toBe(sha256(edited))
    // Nothing left to do, and the digests of the edit were remembered.
    expect(await publishPackage(options)).toMatchObject({uploaded: 0})
  })

  it('uploads a file over 16 MiB in parallel parts, intact', async () => {
    const big = path.join(work.dir, 'big.bin')
    const content = randomBytes(20 * 1024 * 1024)
    await writeFile(big, content)
    const storage = new S3Storage({bucket, prefix: 'multipart', endpoint: proxy.url})
    const before = proxy.log.length
    await storage.putFile('big.bin', big, {contentType: 'video/mp4', cacheControl: 'no-cache', sha256: sha256(content), sizeBytes: content.length})
    const requests = proxy.log.slice(before)
    expect(requests.filter((entry) => entry.method === 'PUT' && /partNumber=/.test(entry.url)).length).toBeGreaterThanOrEqual(3)
    expect(sha256(await getObject('multipart/big.bin'))).toBe(sha256(content))
    expect(await storage.head('big.bin')).toMatchObject({key: 'big.bin', sizeBytes: content.length, sha256: sha256(content)})
    const listed: Array<{etag?: string}> = []
    for await (const object of storage.list('big')) listed.push(object)
    expect(listed[0]?.etag).toBe((await digestsOfFile(big, content.length, MULTIPART_THRESHOLD_BYTES, MULTIPART_PART_BYTES)).etag)
    const ranged = await storage.get('big.bin', {start: 10, end: 19})
    const chunks: Buffer[] = []
    for await (const chunk of ranged) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks)).toEqual(content.subarray(10, 20))
  })

  it('resumes an interrupted publish: uploads only what is missing, and no manifest came before its segments', async () => {
    const controller = new AbortController()
    const interrupted = await publishPackage({
      packageDir, to: `s3://${bucket}/resume`, s3Endpoint: proxy.url, videoId: 'talk', dataDir, concurrency: 1, signal: controller.signal,
      onProgress: (progress) => progress.filesDone === 4 && controller.abort(),
    }).catch((error: unknown) => error)
    expect(interrupted).toBeInstanceOf(CancelledError)
    const stored = putsOf('resume/talk')
    expect(stored.some((file) => isManifestFile(file))).toBe(false)

    const resumed = await publishPackage({packageDir, to: `s3://${bucket}/resume`, s3Endpoint: proxy.url, videoId: 'talk', dataDir})
    expect(resumed.skipped).toBe(new Set(stored).size)
    expect(resumed.uploaded).toBe((await packageFiles()).length - new Set(stored).size)
  })

  it('resumes after the process is killed with SIGKILL', async () => {
    const env = {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1'}
    const args = ['publish', packageDir, '--to', `s3://${bucket}/killed`, '--s3-endpoint', proxy.url, '--video-id', 'talk', '--data-dir', dataDir, '--concurrency', '1', '--json']
    proxy.setFaults(({method, url}) => (method === 'PUT' && url.startsWith(`/${bucket}/killed/`) ? {kind: 'delay', ms: 150} : undefined))
    const run = startCli(args, {env})
    await waitFor(() => putsOf('killed/talk').length >= 3, {what: 'a few uploads'})
    run.child.kill('SIGKILL')
    await run.done
    proxy.setFaults(undefined)
    const before = new Set(putsOf('killed/talk'))
    expect([...before].some((file) => isManifestFile(file))).toBe(false)

    const again = await runCli(args, {env})
    expect(again.exitCode).toBe(0)
    const result = JSON.parse(again.stdout)
    expect(result.skipped).toBeGreaterThanOrEqual(before.size - 1)
    expect(result.uploaded + result.skipped).toBe((await packageFiles()).length)
    for (const file of await packageFiles()) expect(sha256(await getObject(`killed/talk/${file}`)), file).toBe(sha256(await readFile(path.join(packageDir, file))))
  })

  it('completes with every object intact through 503s, connection resets and slow responses', async () => {
    const retries: string[] = []
    // Every request fails the first times it is seen, each time differently: the publish must retry through all of it.
    const seen = new Map<string, number>()
    const faults: Fault[] = [{kind: 'status', status: 503}, {kind: 'reset'}, {kind: 'status', status: 500}, {kind: 'delay', ms: 200}]
    proxy.setFaults(({method, url}) => {
      if ((method !== 'PUT' && method !== 'HEAD') || !url.includes('/faulty/')) return undefined
      const key = `${method} ${url.split('?')[0]}`
      const count = seen.get(key) ?? 0
      seen.set(key, count + 1)
      return faults[count]
    })
    try {
      const result = await publishPackage({
        packageDir, to: `s3://${bucket}/faulty`, s3Endpoint: proxy.url, videoId: 'talk', dataDir, retryBaseMs: 5, attempts: 10,
        onRetry: (file) => retries.push(file),
      })
      expect(result.uploaded).toBe((await packageFiles()).length)
    } finally {
      proxy.setFaults(undefined)
    }

    expect(retries.length).toBeGreaterThan(0)
    for (const file of await packageFiles()) expect(sha256(await getObject(`faulty/talk/${file}`)), file).toBe(sha256(await readFile(path.join(packageDir, file))))
  })

  it('names the file after the last failed try', async () => {
    proxy.setFaults(({method}) => (method === 'PUT' ? {kind: 'status', status: 503} : undefined))
    try {
      const result = await runCli(['publish', packageDir, '--to', `s3://${bucket}/down`, '--s3-endpoint', proxy.url, '--video-id', 'talk', '--data-dir', dataDir, '--attempts', '2'], {
        env: {AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1'},
      })
      expect(result.exitCode).toBe(3)
      expect(result.stderr).toMatch(/Could not publish (init|seg)-[\w-]+\.m4s to s3:\/\/media\/down/)
    } finally {
      proxy.setFaults(undefined)
    }
  })

  it('invalidates only the changed manifests on CloudFront', async () => {
    process.env.AWS_ENDPOINT_URL_CLOUDFRONT = moto.endpoint
    const cloudfront = new CloudFrontClient({endpoint: moto.endpoint, region: 'us-east-1'})
    const distribution = await cloudfront.send(new CreateDistributionCommand({
      DistributionConfig: {
        CallerReference: `test-${Date.now()}`, Comment: 'livectl test', Enabled: true,
        Origins: {Quantity: 1, Items: [{Id: 'media', DomainName: 'media.s3.amazonaws.com', S3OriginConfig: {OriginAccessIdentity: ''}}]},
        DefaultCacheBehavior: {TargetOriginId: 'media', ViewerProtocolPolicy: 'allow-all', MinTTL: 0, ForwardedValues: {QueryString: false, Cookies: {Forward: 'none'}}, TrustedSigners: {Enabled: false, Quantity: 0}},
      },
    }))
    const distributionId = distribution.Distribution?.Id as string
    const result = await publishPackage({packageDir, to: `s3://${bucket}/cdn`, s3Endpoint: proxy.url, videoId: 'talk', dataDir, invalidate: {mode: 'cloudfront', distributionId, wait: true}})
    const manifests = (await packageFiles()).filter((file) => isManifestFile(file)).map((file) => `/talk/${file}`).sort()
    expect([...(result.invalidation?.paths ?? [])].sort()).toEqual(manifests)
    expect(result.invalidation?.status).toBe('Completed')
    const created = await cloudfront.send(new GetInvalidationCommand({DistributionId: distributionId, Id: result.invalidation?.ids?.[0] as string}))
    expect([...(created.Invalidation?.InvalidationBatch?.Paths?.Items ?? [])].sort()).toEqual(manifests)

    const unchanged = await publishPackage({packageDir, to: `s3://${bucket}/cdn`, s3Endpoint: proxy.url, videoId: 'talk', dataDir, invalidate: {mode: 'cloudfront', distributionId}})
    expect(unchanged.invalidation).toBeUndefined()
    const all = await cloudfront.send(new ListInvalidationsCommand({DistributionId: distributionId}))
    expect(all.InvalidationList?.Quantity).toBe(1)
  })
})

describe('CDN purge', () => {
  it('sends HTTP PURGE for each changed manifest', async () => {
    const purged: string[] = []
    const cache = http.createServer((request, response) => {
      purged.push(`${request.method} ${request.url}`)
      response.writeHead(request.url?.endsWith('.json') ? 404 : 200).end()
    })
    await new Promise<void>((resolve) => cache.listen(0, '127.0.0.1', resolve))
    const {port} = cache.address() as {port: number}
    try {
      const result = await publishPackage({packageDir, to: path.join(work.dir, 'purge-media'), videoId: 'purged', dataDir, invalidate: {mode: 'purge', baseUrl: `http://127.0.0.1:${port}/edge`}})
      const manifests = (await packageFiles()).filter((file) => isManifestFile(file))
      expect(purged.sort()).toEqual(manifests.map((file) => `PURGE /edge/purged/${file}`).sort())
      expect(result.invalidation).toMatchObject({mode: 'purge', status: 'Completed'})
    } finally {
      cache.close()
    }
  })
})

