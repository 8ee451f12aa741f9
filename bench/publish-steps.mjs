/**
 * Where `livectl publish` spends its time on a package, step by step, with livectl's compiled
 * code and the same concurrency, one step after another (publish overlaps hashing with HEAD).
 * Run it against storage that already holds the package under VIDEO_ID/ (a no-change re-run's
 * situation); it also HEADs absent keys under VIDEO_ID-absent/ (a first publish's situation) and
 * puts every file again under VIDEO_ID-put/.
 *
 *   node bench/publish-steps.mjs --package PKG --to s3://BUCKET/PREFIX --video-id ID --s3-endpoint URL --concurrency 8 --data-dir DIR
 *
 * Prints one JSON line: {importSeconds, steps: [{id, seconds, detail}]}. Needs `npm run build`.
 */
import {existsSync} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {fileURLToPath, pathToFileURL, URL} from 'node:url'
import {parseArgs} from 'node:util'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))

async function importDist(modulePath) {
  const file = path.join(REPO_ROOT, 'dist', modulePath)
  if (!existsSync(file)) throw new Error(`${path.relative(REPO_ROOT, file)} is missing: run \`npm run build\` first.`)
  return import(pathToFileURL(file).href)
}

const importStart = performance.now()
// publish.js first: it pulls in what the command loads (AWS SDK, catalog, package checks).
await importDist('lib/publish/publish.js')
const importSeconds = (performance.now() - importStart) / 1000
const {mapConcurrent, planPublish} = await importDist('lib/publish/plan.js')
const {readPackageManifest} = await importDist('lib/package/manifest.js')
const {verifyPackage} = await importDist('lib/package/verify.js')
const {sha256OfFile} = await importDist('lib/storage/checksum.js')
const {openStorage} = await importDist('lib/storage/open.js')
const {joinKey} = await importDist('lib/storage/storage.js')
const {withCatalog} = await importDist('lib/catalog/connection.js')
const {upsertVideo} = await importDist('lib/catalog/videos.js')
const {cacheControlFor, contentTypeFor} = await importDist('lib/api/media.js')

async function main() {
  const {values} = parseArgs({
    options: {
      package: {type: 'string'},
      to: {type: 'string'},
      'video-id': {type: 'string'},
      's3-endpoint': {type: 'string'},
      concurrency: {type: 'string', default: '8'},
      'data-dir': {type: 'string'},
    },
  })
  for (const name of ['package', 'to', 'video-id', 'data-dir']) if (!values[name]) throw new Error(`--${name} is required`)
  const packageDir = path.resolve(values.package)
  const videoId = values['video-id']
  const concurrency = Number(values.concurrency)
  const storage = await openStorage(values.to, {s3Endpoint: values['s3-endpoint']})
  const steps = []
  const step = async (id, detail, work) => {
    const startedAt = performance.now()
    const value = await work()
    steps.push({id, seconds: (performance.now() - startedAt) / 1000, detail: typeof detail === 'function' ? detail(value) : detail})
    return value
  }

  const manifest = await step('read-manifest', 'livectl-package.json', () => readPackageManifest(packageDir))
  await step('verify', 'every playlist and MPD parses, every referenced file exists', () => verifyPackage(packageDir, manifest))
  const files = planPublish(manifest).map((entry) => entry.file)
  const each = (work) => mapConcurrent(files, concurrency, work)
  await step('stat', `${files.length} files, one after another`, async () => {
    for (const file of files) await stat(path.join(packageDir, file))
  })
  await step('hash', `SHA-256 of ${files.length} files, ${concurrency} at once`, () => each((file) => sha256OfFile(path.join(packageDir, file))))
  const found = (results) => `${results.filter(Boolean).length} of ${files.length} found, ${concurrency} at once`
  await step('head-existing', found, () => each((file) => storage.head(joinKey(videoId, file))))
  await step('head-missing', found, () => each((file) => storage.head(joinKey(`${videoId}-absent`, file))))
  await step('hash-and-head', `both at once per file, ${concurrency} files at once: what a no-change re-run does`, () =>
    each((file) => Promise.all([storage.head(joinKey(videoId, file)), sha256OfFile(path.join(packageDir, file))])),
  )
  await step('list', (objects) => `ListObjectsV2 of the video's prefix: ${objects} objects`, async () => {
    let objects = 0
    for await (const object of storage.list(`${videoId}/`)) objects += object ? 1 : 0
    return objects
  })
  const hashes = new Map()
  await each(async (file) => hashes.set(file, await sha256OfFile(path.join(packageDir, file))))
  await step('put', `putFile of every file to a new prefix, ${concurrency} at once (as publish calls it)`, () =>
    each(async (file) => {
      const local = path.join(packageDir, file)
      const {size} = await stat(local)
      await storage.putFile(joinKey(`${videoId}-put`, file), local, {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256: hashes.get(file), sizeBytes: size})
    }),
  )
  await step('catalog', 'SQLite upsert in a fresh data directory (open, migrate, write, close)', () =>
    withCatalog({dataDir: values['data-dir']}, (catalog) =>
      upsertVideo(catalog, {id: videoId, title: videoId, status: 'ready', packageLocation: `${storage.uri}/${videoId}`, manifest}),
    ),
  )

  storage.client?.destroy()
  process.stdout.write(`${JSON.stringify({importSeconds, steps})}\n`)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish-steps: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
