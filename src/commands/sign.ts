import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {signingFlags} from '../cli/flags.js'
import {resolveSigning} from '../lib/cdn/config.js'
import {signCloudFrontUrl, signUrlWithToken} from '../lib/cdn/sign.js'
import {UserError} from '../lib/errors.js'

export interface SignResult {
  url: string
  signedUrl: string
  kind: 'cloudfront' | 'token'
  expiresAt: string
}

export default class Sign extends BaseCommand {
  static override summary = 'Sign a media URL for scripts: CloudFront signed URL, or a livectl path token.'
  static override description =
    'With --cloudfront-key-pair-id and --cloudfront-private-key: a CloudFront signed URL. With --signing-keys: a path token ' +
    '(https://host/t/KID.EXPIRES.SIG/media/ID/FILE) valid for every file in the same directory, verified by `livectl serve` or nginx.'

  static override examples = [
    '<%= config.bin %> sign https://video.example.com/media/talk/master.m3u8 --expires 1h --signing-keys k1:a-long-random-secret',
    '<%= config.bin %> sign https://d111.cloudfront.net/talk/master.m3u8 --expires 15m --cloudfront-key-pair-id K2ABC --cloudfront-private-key ./cf.pem --json',
  ]

  static override args = {url: Args.string({description: 'The URL to sign.', required: true})}
  static override flags = {
    ...signingFlags,
    expires: Flags.string({description: 'How long the URL stays valid: 90s, 15m, 1h, 7d.', env: 'LIVECTL_SIGN_EXPIRES', default: '1h'}),
  }

  public async run(): Promise<SignResult> {
    const {args, flags} = await this.parse(Sign)
    const {tokenSigning, cloudFrontSigning} = await resolveSigning({
      signingKeys: flags['signing-keys'],
      scheme: flags['signing-scheme'],
      ttl: flags.expires,
      cloudFrontKeyPairId: flags['cloudfront-key-pair-id'],
      cloudFrontPrivateKeyFile: flags['cloudfront-private-key'],
    })
    const now = Math.floor(Date.now() / 1000)
    let result: SignResult
    if (cloudFrontSigning) {
      result = {url: args.url, signedUrl: signCloudFrontUrl(args.url, cloudFrontSigning, now), kind: 'cloudfront', expiresAt: new Date((now + cloudFrontSigning.ttlSeconds) * 1000).toISOString()}
    } else if (tokenSigning) {
      result = {url: args.url, signedUrl: signUrlWithToken(args.url, tokenSigning, now), kind: 'token', expiresAt: new Date((now + tokenSigning.ttlSeconds) * 1000).toISOString()}
    } else {
      throw new UserError('Nothing to sign with: give --signing-keys, or --cloudfront-key-pair-id and --cloudfront-private-key')
    }

    this.say(result.signedUrl)
    return result
  }
}
