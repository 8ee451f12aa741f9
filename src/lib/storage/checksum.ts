import {createHash, type Hash, webcrypto} from 'node:crypto'
import {createReadStream} from 'node:fs'
import {readFile} from 'node:fs/promises'

/** Files up to this size are hashed whole, off the main thread. */
const THREADPOOL_HASH_MAX_BYTES = 16 * 1024 * 1024

/**
 * SHA-256 of a file, hex. A file up to 16 MiB (every segment) is read whole and hashed by WebCrypto
 * on libuv's thread pool, so that hashing a package overlaps the uploads' work on the main thread
 * instead of taking turns with it; a bigger one is streamed (flat memory).
 */
export async function sha256OfFile(file: string, sizeBytes?: number): Promise<string> {
  if (sizeBytes !== undefined && sizeBytes <= THREADPOOL_HASH_MAX_BYTES) {
    return Buffer.from(await webcrypto.subtle.digest('SHA-256', await readFile(file))).toString('hex')
  }

  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk)
  return hash.digest('hex')
}

export interface FileDigests {
  sha256: string
  /**
   * The ETag S3 gives an object uploaded the way livectl uploads it: the MD5 of the file up to
   * the multipart threshold, above it the MD5 of the parts' MD5s, "-" and the part count. A
   * listing's ETags then tell which files are already stored without a request per object.
   */
  etag: string
}

/** SHA-256 and S3 ETag of a file in one read: what an upload stores, and what a listing shows later. */
export async function digestsOfFile(file: string, sizeBytes: number, multipartThresholdBytes: number, partSizeBytes: number): Promise<FileDigests> {
  const sha256 = createHash('sha256')
  const whole = createHash('md5')
  const partDigests: Buffer[] = []
  let part: Hash = createHash('md5')
  let inPart = 0
  const multipart = sizeBytes > multipartThresholdBytes
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    sha256.update(chunk)
    if (!multipart) {
      whole.update(chunk)
      continue
    }

    let offset = 0
    while (offset < chunk.length) {
      const take = Math.min(partSizeBytes - inPart, chunk.length - offset)
      part.update(chunk.subarray(offset, offset + take))
      inPart += take
      offset += take
      if (inPart === partSizeBytes) {
        partDigests.push(part.digest())
        part = createHash('md5')
        inPart = 0
      }
    }
  }

  if (!multipart) return {sha256: sha256.digest('hex'), etag: whole.digest('hex')}
  if (inPart > 0 || partDigests.length === 0) partDigests.push(part.digest())
  return {sha256: sha256.digest('hex'), etag: `${createHash('md5').update(Buffer.concat(partDigests)).digest('hex')}-${partDigests.length}`}
}
