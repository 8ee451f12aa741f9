// @ts-check
/**
 * One large file through livectl's own publish path, in its own process so that its memory can be
 * sampled: `createFilePublisher` (src/lib/publish/file-publisher.ts), the code `publishPackage`
 * runs for every file of a package, with the compiled storage code and a digest cache in
 * --data-dir: one listing of the prefix, then skip when the listing shows the same size and ETag
 * (ETag from the digest cache while the file's stat is unchanged, else read from the file), else
 * SHA-256 of the file and `putFile` (multipart above 16 MiB: 8 MiB parts, 4 in flight).
 *
 *   node bench/publish/file.mjs --file FILE --to s3://BUCKET/PREFIX --key NAME --s3-endpoint URL --data-dir DIR
 *
 * NAME is "PREFIX/FILE-NAME" relative to the storage root. Prints one JSON line: action (upload or
 * skip), sizeBytes, and the seconds of the listing and of the rest. Needs `npm run build` first:
 * it runs the compiled code, as livectl does (bench/support/built.mjs says why).
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {importBuilt} from '../support/built.mjs'

const {openStorage} = /** @type {typeof import('../../src/lib/storage/open.js')} */ (await importBuilt('lib/storage/open.js'))
const {DigestCache} = /** @type {typeof import('../../src/lib/publish/digest-cache.js')} */ (await importBuilt('lib/publish/digest-cache.js'))
const {createFilePublisher, ETAG_SCHEME} = /** @type {typeof import('../../src/lib/publish/file-publisher.js')} */ (await importBuilt('lib/publish/file-publisher.js'))

/** @param {number} start */
const since = (start) => (performance.now() - start) / 1000

async function main() {
  const {values} = parseArgs({options: {file: {type: 'string'}, to: {type: 'string'}, key: {type: 'string'}, 's3-endpoint': {type: 'string'}, 'data-dir': {type: 'string'}}})
  if (!values.file || !values.to || !values.key || !values['data-dir'] || !values.key.includes('/')) {
    throw new Error('usage: node bench/publish/file.mjs --file FILE --to s3://BUCKET/PREFIX --key PREFIX/NAME [--s3-endpoint URL] --data-dir DIR')
  }

  const storage = await openStorage(values.to, {s3Endpoint: values['s3-endpoint']})
  const startedAt = performance.now()
  const file = path.resolve(values.file)
  const prefix = values.key.slice(0, values.key.lastIndexOf('/'))
  const name = values.key.slice(values.key.lastIndexOf('/') + 1)
  const info = await stat(file, {bigint: true})
  const digestCache = await DigestCache.open(path.resolve(values['data-dir']), path.dirname(file), ETAG_SCHEME)
  const publishFile = await createFilePublisher({
    storage, dir: path.dirname(file), prefix, digestCache, retry: {attempts: 5, baseMs: 200, maxMs: 10_000},
  })
  const listSeconds = since(startedAt)
  if (path.basename(file) !== name) throw new Error(`--key must end in the file's own name (${path.basename(file)})`)
  const result = await publishFile(name, info)
  await digestCache.save()
  const output = {action: result.action, sizeBytes: Number(info.size), listSeconds, restSeconds: since(startedAt) - listSeconds, seconds: since(startedAt)}
  // The S3 backend's client keeps sockets open; the other backends have none.
  const {client} = /** @type {{client?: {destroy(): void}}} */ (storage)
  client?.destroy()
  process.stdout.write(`${JSON.stringify(output)}\n`)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish/file: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
