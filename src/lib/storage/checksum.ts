import {createHash, type Hash} from 'node:crypto'
import {createReadStream} from 'node:fs'

/** SHA-256 of a file, hex, streamed (flat memory). */
export async function sha256OfFile(file: string): Promise<string> {
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
