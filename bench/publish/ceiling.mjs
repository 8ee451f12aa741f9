/**
 * The ceiling of bench/publish: the plainest upload the AWS SDK allows, with no hashing, no
 * HEAD, no package check and no catalog, in its own process so that its memory can be sampled.
 *
 *   node bench/publish/ceiling.mjs files --dir PKG --to s3://BUCKET/PREFIX --endpoint URL --concurrency 8
 *       every regular file of PKG with PutObject (a read stream as Body, ContentLength), N at once
 *   node bench/publish/ceiling.mjs multipart --file FILE --to s3://BUCKET/KEY --endpoint URL --part-bytes 8388608 --queue 4
 *       one file with @aws-sdk/lib-storage Upload (a read stream with Node's default 64 KiB chunks,
 *       or --high-water-mark BYTES, to isolate the effect of livectl's 8 MiB ones)
 *
 * Prints one JSON line: files, bytes, seconds (from the first request to the last answer).
 * Credentials and region come from the environment (the benchmark sets moto's fake ones).
 */
import {createReadStream} from 'node:fs'
import {readdir, stat} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {Upload} from '@aws-sdk/lib-storage'

const QUIET_LOGGER = {trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined}

function parseTarget(uri) {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri ?? '')
  if (!match) throw new Error(`--to must be s3://BUCKET/PATH (got ${uri})`)
  return {bucket: match[1], path: match[2].replace(/\/$/, '')}
}

/** The client settings a custom endpoint needs (path-style addressing, checksums only when required); otherwise the SDK's defaults, retries included. */
function createClient(endpoint) {
  return new S3Client({endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', logger: QUIET_LOGGER})
}

async function putEveryFile(client, {dir, bucket, prefix, concurrency}) {
  const names = (await readdir(dir, {withFileTypes: true})).filter((entry) => entry.isFile()).map((entry) => entry.name).sort()
  let next = 0
  let bytes = 0
  const worker = async () => {
    while (next < names.length) {
      const name = names[next]
      next += 1
      const file = path.join(dir, name)
      const {size} = await stat(file)
      await client.send(new PutObjectCommand({Bucket: bucket, Key: prefix ? `${prefix}/${name}` : name, Body: createReadStream(file), ContentLength: size}))
      bytes += size
    }
  }

  await Promise.all(Array.from({length: Math.min(concurrency, names.length)}, worker))
  return {files: names.length, bytes}
}

async function uploadOneFile(client, {file, bucket, key, partBytes, queue, highWaterMark}) {
  const {size} = await stat(file)
  const upload = new Upload({client, params: {Bucket: bucket, Key: key, Body: createReadStream(file, highWaterMark ? {highWaterMark} : {})}, partSize: partBytes, queueSize: queue, leavePartsOnError: false})
  await upload.done()
  return {files: 1, bytes: size}
}

async function main() {
  const {positionals, values} = parseArgs({
    allowPositionals: true,
    options: {
      dir: {type: 'string'},
      file: {type: 'string'},
      to: {type: 'string'},
      endpoint: {type: 'string'},
      concurrency: {type: 'string', default: '8'},
      'part-bytes': {type: 'string', default: String(8 * 1024 * 1024)},
      queue: {type: 'string', default: '4'},
      'high-water-mark': {type: 'string'},
    },
  })
  const target = parseTarget(values.to)
  if (!values.endpoint) throw new Error('--endpoint URL is required')
  const client = createClient(values.endpoint)
  const startedAt = performance.now()
  let result
  if (positionals[0] === 'files') {
    if (!values.dir) throw new Error('files needs --dir')
    result = await putEveryFile(client, {dir: values.dir, bucket: target.bucket, prefix: target.path, concurrency: Number(values.concurrency)})
  } else if (positionals[0] === 'multipart') {
    if (!values.file || !target.path) throw new Error('multipart needs --file and --to s3://BUCKET/KEY')
    result = await uploadOneFile(client, {file: values.file, bucket: target.bucket, key: target.path, partBytes: Number(values['part-bytes']), queue: Number(values.queue), highWaterMark: values['high-water-mark'] ? Number(values['high-water-mark']) : undefined})
  } else {
    throw new Error(`usage: node bench/publish/ceiling.mjs files|multipart ... (got ${positionals[0]})`)
  }

  client.destroy()
  process.stdout.write(`${JSON.stringify({...result, seconds: (performance.now() - startedAt) / 1000})}\n`)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/publish/ceiling: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
