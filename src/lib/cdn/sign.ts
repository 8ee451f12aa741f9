/**
 * Signed media URLs.
 *
 * livectl's own origin (and an nginx edge in front of it): a token in the path,
 * `/t/KID.EXPIRES.SIGNATURE/media/ID/FILE`, valid for every file under `/media/ID/` until EXPIRES
 * (Unix seconds). Because it sits in the path, the relative segment URIs inside HLS playlists and
 * DASH manifests inherit it. SIGNATURE is base64url HMAC-SHA256(secret, "EXPIRES" + scope), or for
 * stock nginx `secure_link` the `md5` scheme: base64url MD5("EXPIRES" + scope + " " + secret).
 * Keys rotate: sign with the first key, accept any configured key (two valid at a time).
 *
 * CloudFront: URLs signed with a key pair through @aws-sdk/cloudfront-signer.
 */
import {createHash, createHmac, timingSafeEqual} from 'node:crypto'

import {getSignedUrl} from '@aws-sdk/cloudfront-signer'

import {UserError} from '../errors.js'

export type SigningScheme = 'hmac' | 'md5'

export interface SigningKey {
  id: string
  secret: string
}

export interface TokenSigning {
  scheme: SigningScheme
  /** The first key signs; every key verifies. */
  keys: SigningKey[]
  ttlSeconds: number
}

export interface CloudFrontSigning {
  keyPairId: string
  privateKey: string
  ttlSeconds: number
}

/** "kid1:secret1,kid2:secret2" (LIVECTL_SIGNING_KEYS). Secrets need at least 16 characters. */
export function parseSigningKeys(spec: string): SigningKey[] {
  const keys = spec.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const separator = entry.indexOf(':')
    const id = entry.slice(0, separator)
    const secret = entry.slice(separator + 1)
    if (separator <= 0 || !/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new UserError(`Signing key "${entry.slice(0, 40)}" must look like KID:SECRET (KID letters, digits, "-", "_")`)
    if (secret.length < 16) throw new UserError(`Signing key ${id}: the secret must have at least 16 characters`)
    return {id, secret}
  })
  if (keys.length === 0) throw new UserError('No signing keys given: use KID:SECRET[,KID2:SECRET2]')
  return keys
}

/** "90", "90s", "15m", "1h", "7d" -> seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim())
  if (!match) throw new UserError(`Invalid duration "${value}": use e.g. 90s, 15m, 1h, 7d`)
  const unit = {'': 1, s: 1, m: 60, h: 3600, d: 86_400}[match[2] as '' | 's' | 'm' | 'h' | 'd']
  const seconds = Number(match[1]) * unit
  if (seconds <= 0) throw new UserError(`Duration must be positive (got ${value})`)
  return seconds
}

function signature(scheme: SigningScheme, secret: string, expires: number, scope: string): string {
  if (scheme === 'md5') return createHash('md5').update(`${expires}${scope} ${secret}`).digest('base64url')
  return createHmac('sha256', secret).update(`${expires}${scope}`).digest('base64url')
}

/** The token for a scope such as "/media/talk/". */
export function signScope(scope: string, expires: number, key: SigningKey, scheme: SigningScheme = 'hmac'): string {
  return `${key.id}.${expires}.${signature(scheme, key.secret, expires, scope)}`
}

export type TokenCheck = 'valid' | 'expired' | 'invalid'

export function verifyToken(token: string, scope: string, signing: Pick<TokenSigning, 'scheme' | 'keys'>, nowSeconds = Math.floor(Date.now() / 1000)): TokenCheck {
  const match = /^([A-Za-z0-9_-]{1,32})\.(\d{1,12})\.([A-Za-z0-9_-]{10,100})$/.exec(token)
  if (!match) return 'invalid'
  const [, keyId, expiresText, given] = match as unknown as [string, string, string, string]
  const key = signing.keys.find((candidate) => candidate.id === keyId)
  if (!key) return 'invalid'
  const expected = Buffer.from(signature(signing.scheme, key.secret, Number(expiresText), scope))
  const actual = Buffer.from(given)
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return 'invalid'
  return Number(expiresText) < nowSeconds ? 'expired' : 'valid'
}

/** Inserts a token for the URL's directory: https://h/media/talk/a.m4s -> https://h/t/TOKEN/media/talk/a.m4s */
export function signUrlWithToken(url: string, signing: TokenSigning, nowSeconds = Math.floor(Date.now() / 1000)): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UserError(`Not a URL: ${url}`)
  }

  const scope = parsed.pathname.slice(0, parsed.pathname.lastIndexOf('/') + 1)
  const token = signScope(scope, nowSeconds + signing.ttlSeconds, signing.keys[0] as SigningKey, signing.scheme)
  parsed.pathname = `/t/${token}${parsed.pathname}`
  return parsed.toString()
}

export function signCloudFrontUrl(url: string, signing: CloudFrontSigning, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return getSignedUrl({url, keyPairId: signing.keyPairId, privateKey: signing.privateKey, dateLessThan: new Date((nowSeconds + signing.ttlSeconds) * 1000).toISOString()})
}
