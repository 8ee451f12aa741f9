// @ts-check
/**
 * Where `livectl publish` spends its time on a package, step by step, with livectl's compiled
 * code and the same concurrency, one step after another (publish overlaps each file's digests
 * with other files' PUTs). The steps of src/lib/publish/publish.ts: read livectl-package.json,
 * check the package, open the storage, stat every file (bigint, 16 at once), look every file up in
 * the digest cache, one ListObjectsV2 of the video's prefix, SHA-256 and ETag of every file read
 * from disk (`digestsOfFile`), PUT every file, write the digest cache, write the catalog; and,
 * for comparison only (publish no longer does it), a HEAD of every object.
 *
 * Run it against storage that already holds the package under VIDEO_ID/, published with
 * `--data-dir DIR` (a no-change re-run's situation: the listing finds every object, and DIR holds
 * the digest cache that publish wrote); it puts every file again under VIDEO_ID-put/, and writes
 * the digest cache and the catalog into FRESH (a first publish's situation; FRESH must not exist
 * or be empty).
 *
 *   node bench/publish/steps.mjs --package PKG --to s3://BUCKET/PREFIX --video-id ID --s3-endpoint URL --concurrency 8 --data-dir DIR --fresh-data-dir FRESH
 *
 * Prints one JSON line: {importSeconds, files, bytes, cacheHits, steps: [{id, seconds, detail}]}.
 * Needs `npm run build`: it runs the compiled code, as livectl does, and times loading it
 * (bench/support/built.mjs says why).
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {importBuilt} from '../support/built.mjs'

/** publish.ts stats this many files at once. */
const STAT_CONCURRENCY = 16

const importStart = performance.now()
// publish.js first: it pulls in what the command loads up front (catalog, package checks); the
// S3 backend and the AWS SDK come later, with openStorage (the open-storage step).
void (/** @type {typeof import('../../src/lib/publish/publish.js')} */ (await importBuilt('lib/publish/publish.js')))
const importSeconds = (performance.now() - importStart) / 1000
const {planPublish} = /** @type {typeof import('../../src/lib/publish/plan.js')} */ (await importBuilt('lib/publish/plan.js'))
const {mapConcurrent} = /** @type {typeof import('../../src/lib/concurrency.js')} */ (await importBuilt('lib/concurrency.js'))
const {DigestCache} = /** @type {typeof import('../../src/lib/publish/digest-cache.js')} */ (await importBuilt('lib/publish/digest-cache.js'))
const {readPackageManifest} = /** @type {typeof import('../../src/lib/package/manifest.js')} */ (await importBuilt('lib/package/manifest.js'))
const {verifyPackage} = /** @type {typeof import('../../src/lib/package/verify.js')} */ (await importBuilt('lib/package/verify.js'))
const {digestsOfFile, sha256OfFile} = /** @type {typeof import('../../src/lib/storage/checksum.js')} */ (await importBuilt('lib/storage/checksum.js'))
const {openStorage} = /** @type {typeof import('../../src/lib/storage/open.js')} */ (await importBuilt('lib/storage/open.js'))
const {MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES} = /** @type {typeof import('../../src/lib/storage/s3-config.js')} */ (await importBuilt('lib/storage/s3-config.js'))
const {ETAG_SCHEME} = /** @type {typeof import('../../src/lib/publish/file-publisher.js')} */ (await importBuilt('lib/publish/file-publisher.js'))
const {joinKey} = /** @type {typeof import('../../src/lib/storage/storage.js')} */ (await importBuilt('lib/storage/storage.js'))
const {withCatalog} = /** @type {typeof import('../../src/lib/catalog/connection.js')} */ (await importBuilt('lib/catalog/connection.js'))
const {upsertVideo} = /** @type {typeof import('../../src/lib/catalog/videos.js')} */ (await importBuilt('lib/catalog/videos.js'))
const {cacheControlFor, contentTypeFor} = /** @type {typeof import('../../src/lib/package/media-types.js')} */ (await importBuilt('lib/package/media-types.js'))

/** @typedef {{id: string, seconds: number, detail: string}} Step */

async function main() {
  const {values} = parseArgs({
    options: {
      package: {type: 'string'},
      to: {type: 'string'},
      'video-id': {type: 'string'},
      's3-endpoint': {type: 'string'},
      concurrency: {type: 'string', default: '8'},
      'data-dir': {type: 'string'},
      'fresh-data-dir': {type: 'string'},
    },
  })
  /** @param {'package' | 'to' | 'video-id' | 'data-dir' | 'fresh-data-dir'} name */
  const required = (name) => {
    const value = values[name]
    if (!value) throw new Error(`--${name} is required`)
    return value
  }

  const [packageOption, to, videoId, dataDirOption, freshDataDirOption] = [required('package'), required('to'), required('video-id'), required('data-dir'), required('fresh-data-dir')]
  const packageDir = path.resolve(packageOption)
  // livectl resolves --data-dir the same way (src/cli/base-command.ts).
  const dataDir = path.resolve(dataDirOption)
  const freshDataDir = path.resolve(freshDataDirOption)
  const concurrency = Number(values.concurrency)
  /** @type {Step[]} */
  const steps = []
  /**
   * @template T
   * @param {string} id
   * @param {string | ((value: T) => string)} detail
   * @param {() => Promise<T>} work
   * @returns {Promise<T>}
   */
  const step = async (id, detail, work) => {
    const startedAt = performance.now()
    const value = await work()
    steps.push({id, seconds: (performance.now() - startedAt) / 1000, detail: typeof detail === 'function' ? detail(value) : detail})
    return value
  }

  const manifest = await step('read-manifest', 'livectl-package.json', () => readPackageManifest(packageDir))
  await step('verify', 'every playlist and MPD parses, every referenced file exists', () => verifyPackage(packageDir, manifest))
  const storage = await step('open-storage', 'openStorage of the s3:// URI: loads the S3 backend and the AWS SDK', () =>
    openStorage(to, {s3Endpoint: values['s3-endpoint']}),
  )
  const files = planPublish(manifest).map((entry) => entry.file)
  /**
   * @template R
   * @param {(file: string) => Promise<R>} work
   */
  const each = (work) => mapConcurrent(files, concurrency, work)
  /** @type {Map<string, import('node:fs').BigIntStats>} */
  const stats = new Map()
  /** @param {string} file */
  const sizeOf = (file) => Number(stats.get(file)?.size ?? 0)
  /** @param {string} file */
  const statOf = (file) => {
    const info = stats.get(file)
    if (!info) throw new Error(`${file} was not stat'ed`)
    return info
  }

  await step('stat', `${files.length} files, bigint stat, ${STAT_CONCURRENCY} at once`, () =>
    mapConcurrent(files, STAT_CONCURRENCY, async (file) => {
      stats.set(file, await stat(path.join(packageDir, file), {bigint: true}))
    }),
  )
  const bytes = files.reduce((sum, file) => sum + sizeOf(file), 0)
  const cacheHits = await step(
    'cache-lookup',
    (hits) => `open the cache publish wrote, look up ${files.length} files: ${hits} found with an unchanged stat`,
    async () => {
      const cache = await DigestCache.open(dataDir, packageDir, ETAG_SCHEME)
      let hits = 0
      for (const file of files) if (cache.get(file, statOf(file))) hits += 1
      return hits
    },
  )
  await step('list', (objects) => `one ListObjectsV2 listing of the video's prefix: ${objects} objects with size and ETag`, async () => {
    let objects = 0
    for await (const object of storage.list(`${videoId}/`)) objects += object ? 1 : 0
    return objects
  })
  /** @type {Map<string, {sha256: string, etag?: string}>} */
  const digests = new Map()
  /** @param {string} file */
  const digestOf = (file) => {
    const digest = digests.get(file)
    if (!digest) throw new Error(`${file} has no digest`)
    return digest
  }

  await step('sha256', `SHA-256 of ${files.length} files (${(bytes / 1e6).toFixed(1)} MB), ${concurrency} at once (files in the page cache): what a first publish reads; S3's answer to each PUT gives the ETag`, () =>
    each(async (file) => {
      digests.set(file, {sha256: await sha256OfFile(path.join(packageDir, file), sizeOf(file))})
    }),
  )
  await step('digests', `SHA-256 and ETag of ${files.length} files, each read once, ${concurrency} at once: what a re-run without the digest cache reads`, () =>
    each((file) => digestsOfFile(path.join(packageDir, file), sizeOf(file), MULTIPART_THRESHOLD_BYTES, MULTIPART_PART_BYTES)),
  )
  await step('put', `putFile of every file to a new prefix, ${concurrency} at once (as publish calls it)`, () =>
    each(async (file) => {
      const local = path.join(packageDir, file)
      const {etag} = await storage.putFile(joinKey(`${videoId}-put`, file), local, {
        contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256: digestOf(file).sha256, sizeBytes: sizeOf(file),
      })
      digestOf(file).etag = etag
    }),
  )
  await step('cache-save', `a new digest cache of ${files.length} files written to a fresh data directory (what a first publish writes)`, async () => {
    const cache = await DigestCache.open(freshDataDir, packageDir, ETAG_SCHEME)
    const hashedAtNs = BigInt(Date.now()) * 1_000_000n
    for (const file of files) cache.set(file, statOf(file), digestOf(file), hashedAtNs)
    await cache.save()
  })
  await step('catalog', 'SQLite upsert in a fresh data directory (open, migrate, write, close)', () =>
    withCatalog({dataDir: freshDataDir}, (catalog) =>
      upsertVideo(catalog, {id: videoId, title: videoId, status: 'ready', packageLocation: `${storage.uri.replace(/\/$/, '')}/${videoId}`, manifest}),
    ),
  )
  await step('head', (found) => `${found} of ${files.length} found, ${concurrency} at once: the request per file that the listing replaced`, async () => {
    const results = await each((file) => storage.head(joinKey(videoId, file)))
    return results.filter(Boolean).length
  })

  // The S3 backend's client keeps sockets open; the other backends have none.
  const {client} = /** @type {{client?: {destroy(): void}}} */ (storage)
  client?.destroy()
  process.stdout.write(`${JSON.stringify({importSeconds, files: files.length, bytes, cacheHits, steps})}\n`)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish/steps: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
