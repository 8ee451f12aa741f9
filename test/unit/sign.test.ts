import {createPublicKey, createVerify, generateKeyPairSync} from 'node:crypto'

import {describe, expect, it} from 'vitest'

import {parseDuration, parseSigningKeys, signCloudFrontUrl, signScope, signUrlWithToken, verifyToken} from '../../src/lib/cdn/sign.js'
import {backoffDelayMs, isRetryable, withRetries} from '../../src/lib/retry.js'
import {planPublish} from '../../src/lib/publish/plan.js'
import {CancelledError, ExternalError} from '../../src/lib/errors.js'

const keys = parseSigningKeys('new:0123456789abcdef-new,old:0123456789abcdef-old')
const hmac = {scheme: 'hmac' as const, keys, ttlSeconds: 3600}
const NOW = 1_800_000_000

describe('path-token signed URLs', () => {
  const signed = signUrlWithToken('https://video.example.com/media/talk/master.m3u8', hmac, NOW)
  const token = /\/t\/([^/]+)\/media\/talk\/master\.m3u8$/.exec(signed)?.[1] as string

  it('puts a token for the directory in the path, signed with the first key', () => {
    expect(signed).toMatch(/^https:\/\/video\.example\.com\/t\/new\.1800003600\.[A-Za-z0-9_-]{43}\/media\/talk\/master\.m3u8$/)
  })

  it('is valid for every file of the same video until it expires', () => {
    expect(verifyToken(token, '/media/talk/', hmac, NOW)).toBe('valid')
    expect(verifyToken(token, '/media/talk/', hmac, NOW + 3600)).toBe('valid')
    expect(verifyToken(token, '/media/talk/', hmac, NOW + 3601)).toBe('expired')
  })

  it('is invalid for another video, when tampered with, or with an unknown key', () => {
    expect(verifyToken(token, '/media/other/', hmac, NOW)).toBe('invalid')
    expect(verifyToken(token.replace('1800003600', '1900000000'), '/media/talk/', hmac, NOW)).toBe('invalid')
    expect(verifyToken(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, '/media/talk/', hmac, NOW)).toBe('invalid')
    expect(verifyToken(token, '/media/talk/', {scheme: 'hmac', keys: parseSigningKeys('new:a-different-secret-key')}, NOW)).toBe('invalid')
    expect(verifyToken('garbage', '/media/talk/', hmac, NOW)).toBe('invalid')
  })

  it('accepts a token signed with the previous key during rotation', () => {
    const oldToken = signScope('/media/talk/', NOW + 60, keys[1] as never)
    expect(verifyToken(oldToken, '/media/talk/', hmac, NOW)).toBe('valid')
    expect(verifyToken(oldToken, '/media/talk/', {scheme: 'hmac', keys: keys.slice(0, 1)}, NOW)).toBe('invalid')
  })

  it('computes the md5 scheme as stock nginx secure_link does', async () => {
    const {createHash} = await import('node:crypto')
    const key = parseSigningKeys('k:0123456789abcdef')[0] as never
    const expected = createHash('md5').update('1800000060/media/talk/ 0123456789abcdef').digest('base64url')
    expect(signScope('/media/talk/', NOW + 60, key, 'md5')).toBe(`k.1800000060.${expected}`)
  })

  it('rejects malformed keys and durations', () => {
    expect(() => parseSigningKeys('short:abc')).toThrow(/at least 16 characters/)
    expect(() => parseSigningKeys('nocolon')).toThrow(/KID:SECRET/)
    expect(parseDuration('1h')).toBe(3600)
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('90')).toBe(90)
    expect(() => parseDuration('soon')).toThrow(/Invalid duration/)
  })
})

describe('CloudFront signed URLs', () => {
  it('signs a canned policy that verifies with the public key', () => {
    const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048, privateKeyEncoding: {type: 'pkcs8', format: 'pem'}, publicKeyEncoding: {type: 'spki', format: 'pem'}})
    const url = signCloudFrontUrl('https://d111.cloudfront.net/talk/master.m3u8', {keyPairId: 'K2TEST', privateKey, ttlSeconds: 600}, NOW)
    const parsed = new URL(url)
    expect(parsed.searchParams.get('Key-Pair-Id')).toBe('K2TEST')
    expect(parsed.searchParams.get('Expires')).toBe(String(NOW + 600))
    const fromCloudFront = (value: string) => Buffer.from(value.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64')
    const policy = JSON.stringify({Statement: [{Resource: 'https://d111.cloudfront.net/talk/master.m3u8', Condition: {DateLessThan: {'AWS:EpochTime': NOW + 600}}}]})
    const verifier = createVerify('RSA-SHA1')
    verifier.update(policy)
    expect(verifier.verify(createPublicKey(publicKey), fromCloudFront(parsed.searchParams.get('Signature') as string))).toBe(true)
  })
})

describe('retries', () => {
  it('retries throttling, 5xx and dropped connections, never user errors or cancellation', () => {
    expect(isRetryable({name: 'SlowDown', $metadata: {httpStatusCode: 503}})).toBe(true)
    expect(isRetryable({$metadata: {httpStatusCode: 500}})).toBe(true)
    expect(isRetryable({$metadata: {httpStatusCode: 429}})).toBe(true)
    expect(isRetryable({code: 'ECONNRESET'})).toBe(true)
    expect(isRetryable(new TypeError('fetch failed', {cause: {code: 'ECONNREFUSED'}}))).toBe(true)
    expect(isRetryable(new ExternalError('HTTP 503', {retryable: true}))).toBe(true)
    expect(isRetryable({name: 'AccessDenied', $metadata: {httpStatusCode: 403}})).toBe(false)
    expect(isRetryable(new CancelledError('stop'))).toBe(false)
  })

  it('backs off exponentially with full jitter, capped', () => {
    expect(backoffDelayMs(0, 100, 10_000, () => 0.999)).toBe(99)
    expect(backoffDelayMs(3, 100, 10_000, () => 0.5)).toBe(400)
    expect(backoffDelayMs(20, 100, 10_000, () => 0.999)).toBe(9990)
    expect(backoffDelayMs(5, 100, 10_000, () => 0)).toBe(0)
  })

  it('gives up after the last attempt with the last error', async () => {
    const delays: number[] = []
    let calls = 0
    const failing = withRetries(async () => {
      calls += 1
      throw Object.assign(new Error(`boom ${calls}`), {code: 'ECONNRESET'})
    }, {attempts: 3, baseMs: 10, maxMs: 100, sleep: async (ms) => void delays.push(ms)})
    await expect(failing).rejects.toThrow('boom 3')
    expect(delays).toHaveLength(2)
  })
})

describe('publish order', () => {
  it('puts segments first, then media playlists, then the master and MPD, then the package manifest', () => {
    const track = (id: string) => ({id, name: id, type: 'video' as const, codecs: '', bandwidth: 1, averageBandwidth: 1, playlist: `media_${id}.m3u8`, init: {file: `init-${id}.m4s`, sizeBytes: 1}, segments: [{index: 0, file: `seg-${id}-00001.m4s`, startSeconds: 0, durationSeconds: 2, sizeBytes: 1}]})
    const plan = planPublish({version: 1, createdAt: '', durationSeconds: 2, segmentDurationSeconds: 2, formats: ['hls', 'dash'], hlsMaster: 'master.m3u8', dashManifest: 'manifest.mpd', renditions: [track('0')], audio: track('1'), totalFiles: 0, totalBytes: 0})
    expect(plan.map((entry) => `${entry.phase}:${entry.file}`)).toEqual([
      'media:init-0.m4s', 'media:seg-0-00001.m4s', 'media:init-1.m4s', 'media:seg-1-00001.m4s',
      'playlists:media_0.m3u8', 'playlists:media_1.m3u8', 'masters:master.m3u8', 'masters:manifest.mpd', 'manifest:livectl-package.json',
    ])
  })
})

describe('S3 ETags of files', () => {
  it('is the MD5 up to the multipart threshold, and the MD5 of part MD5s with the part count above it', async () => {
    const {createHash, randomBytes} = await import('node:crypto')
    const {mkdtemp, writeFile} = await import('node:fs/promises')
    const {tmpdir} = await import('node:os')
    const path = await import('node:path')
    const {digestsOfFile, sha256OfFile} = await import('../../src/lib/storage/checksum.js')
    const content = randomBytes(2 * 1024 + 3)
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'etag-')), 'x.bin')
    await writeFile(file, content)
    const md5 = (buffer: Buffer) => createHash('md5').update(buffer).digest()
    const parts = [content.subarray(0, 1024), content.subarray(1024, 2048), content.subarray(2048)]
    const sha256 = createHash('sha256').update(content).digest('hex')
    // Whole on the thread pool when the size is given and small, streamed otherwise: the same digest.
    expect(await sha256OfFile(file, content.length)).toBe(sha256)
    expect(await sha256OfFile(file)).toBe(sha256)
    expect(await digestsOfFile(file, content.length, 4096, 1024)).toEqual({sha256, etag: md5(content).toString('hex')})
    expect(await digestsOfFile(file, content.length, 1024, 1024)).toEqual({sha256, etag: `${createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex')}-3`})
    // Exactly on a part boundary: no empty last part.
    expect((await digestsOfFile(file, content.length, 1024, content.length)).etag).toBe(`${createHash('md5').update(md5(content)).digest('hex')}-1`)
  })
})
