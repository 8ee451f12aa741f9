/**
 * One large file through livectl's own publish path, in its own process so that its memory can be
 * sampled: what `publishPackage` does per file (src/lib/publish/publish.ts), with the compiled
 * storage code: SHA-256 of the file and HEAD of the object at once, then skip when size and hash
 * match, else `putFile` (multipart above 16 MiB: 8 MiB parts, 4 in flight).
 *
 *   node bench/publish-file.mjs --file FILE --to s3://BUCKET/PREFIX --key NAME --s3-endpoint URL
 *
 * Prints one JSON line: action (upload or skip), sizeBytes, and the seconds of each step (hash and
 * HEAD run together; put after both). Needs `npm run build` first.
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

const {openStorage} = await importDist('lib/storage/open.js')
const {sha256OfFile} = await importDist('lib/storage/checksum.js')
const {cacheControlFor, contentTypeFor} = await importDist('lib/api/media.js')

const since = (start) => (performance.now() - start) / 1000

async function main() {
  const {values} = parseArgs({options: {file: {type: 'string'}, to: {type: 'string'}, key: {type: 'string'}, 's3-endpoint': {type: 'string'}}})
  if (!values.file || !values.to || !values.key) throw new Error('usage: node bench/publish-file.mjs --file FILE --to s3://BUCKET/PREFIX --key NAME [--s3-endpoint URL]')
  const storage = await openStorage(values.to, {s3Endpoint: values['s3-endpoint']})
  const startedAt = performance.now()
  const {size: sizeBytes} = await stat(values.file)
  let hashSeconds
  let headSeconds
  const [stored, sha256] = await Promise.all([
    storage.head(values.key).then((info) => ((headSeconds = since(startedAt)), info)),
    sha256OfFile(values.file).then((hash) => ((hashSeconds = since(startedAt)), hash)),
  ])
  const compared = performance.now()
  let action = 'skip'
  if (!stored || stored.sizeBytes !== sizeBytes || stored.sha256 !== sha256) {
    action = 'upload'
    await storage.putFile(values.key, values.file, {contentType: contentTypeFor(values.file), cacheControl: cacheControlFor(values.file), sha256, sizeBytes})
  }

  const result = {action, sizeBytes, sha256, hashSeconds, headSeconds, putSeconds: action === 'upload' ? since(compared) : 0, seconds: since(startedAt)}
  storage.client?.destroy()
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish-file: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
