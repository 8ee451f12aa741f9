import {createHash, type Hash} from 'node:crypto'
import {createReadStream} from 'node:fs'

/** SHA-256 of a file, hex, streamed (flat memory). */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) hash.update(chunk)
  return hash.digest('hex')
}

/**
 * The ETag S3 gives an object uploaded the way livectl uploads it: the MD5 of the file up to
 * `multipartThresholdBytes`, above it the MD5 of the parts' MD5s, "-" and the part count. A
 * listing's ETags then tell which files are already stored without a request per object.
 */
export async function s3EtagOfFile(file: string, sizeBytes: number, multipartThresholdBytes: number, partSizeBytes: number): Promise<string> {
  if (sizeBytes <= multipartThresholdBytes) {
    const md5 = createHash('md5')
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) md5.update(chunk)
    return md5.digest('hex')
  }

  const partDigests: Buffer[] = []
  let part: Hash = createHash('md5')
  let inPart = 0
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
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

  if (inPart > 0 || partDigests.length === 0) partDigests.push(part.digest())
  return `${createHash('md5').update(Buffer.concat(partDigests)).digest('hex')}-${partDigests.length}`
}
