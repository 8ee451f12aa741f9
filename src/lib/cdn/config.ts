/** Turns signing settings (flags / LIVECTL_* variables) into signers, in one place for `serve` and `sign`. */
import {readFile} from 'node:fs/promises'

import {UserError} from '../errors.js'
import {type CloudFrontSigning, parseDuration, parseSigningKeys, type SigningScheme, type TokenSigning} from './sign.js'

export interface SigningSettings {
  /** KID:SECRET[,KID2:SECRET2] */
  signingKeys?: string
  scheme?: string
  /** How long handed-out URLs stay valid: 90s, 15m, 1h... */
  ttl?: string
  cloudFrontKeyPairId?: string
  /** Path of the CloudFront private key (PEM). */
  cloudFrontPrivateKeyFile?: string
}

export async function resolveSigning(settings: SigningSettings): Promise<{tokenSigning?: TokenSigning; cloudFrontSigning?: CloudFrontSigning}> {
  const ttlSeconds = parseDuration(settings.ttl ?? '1h')
  let cloudFrontSigning: CloudFrontSigning | undefined
  if (settings.cloudFrontKeyPairId || settings.cloudFrontPrivateKeyFile) {
    if (!settings.cloudFrontKeyPairId || !settings.cloudFrontPrivateKeyFile) throw new UserError('CloudFront signing needs both the key pair id and the private key file')
    let privateKey: string
    try {
      privateKey = await readFile(settings.cloudFrontPrivateKeyFile, 'utf8')
    } catch {
      throw new UserError(`CloudFront private key file not found: ${settings.cloudFrontPrivateKeyFile}`)
    }

    if (!privateKey.includes('PRIVATE KEY')) throw new UserError(`${settings.cloudFrontPrivateKeyFile} is not a PEM private key`)
    cloudFrontSigning = {keyPairId: settings.cloudFrontKeyPairId, privateKey, ttlSeconds}
  }

  let tokenSigning: TokenSigning | undefined
  if (settings.signingKeys) {
    const scheme = (settings.scheme ?? 'hmac') as SigningScheme
    if (scheme !== 'hmac' && scheme !== 'md5') throw new UserError(`Unknown signing scheme "${settings.scheme}": use hmac or md5`)
    if (ttlSeconds < 120) throw new UserError('Signed URLs must live at least 2 minutes (they are issued per minute)')
    tokenSigning = {scheme, keys: parseSigningKeys(settings.signingKeys), ttlSeconds}
  }

  return {tokenSigning, cloudFrontSigning}
}
