import {Flags} from '@oclif/core'

import type {InvalidationOptions} from '../lib/cdn/invalidate.js'
import {UserError} from '../lib/errors.js'

/** Flags of the commands that publish and may invalidate a CDN (`publish`, `run`). */
export const invalidationFlags = {
  invalidate: Flags.boolean({description: 'Invalidate changed manifests on the CDN after the upload.', env: 'LIVECTL_INVALIDATE'}),
  'cdn-distribution': Flags.string({description: 'CloudFront distribution id to invalidate.', env: 'LIVECTL_CDN_DISTRIBUTION'}),
  'wait-invalidation': Flags.boolean({description: 'Wait until the CloudFront invalidation completes.', env: 'LIVECTL_WAIT_INVALIDATION'}),
  'purge-url': Flags.string({description: 'Base URL of a Varnish/Fastly-style cache to send HTTP PURGE to, instead of CloudFront.', env: 'LIVECTL_PURGE_URL'}),
}

/** The one place invalidation flags become the services' options. */
export function invalidationFrom(flags: {invalidate?: boolean; 'cdn-distribution'?: string; 'wait-invalidation'?: boolean; 'purge-url'?: string}): InvalidationOptions | undefined {
  if (!flags.invalidate) return undefined
  if (flags['purge-url']) return {mode: 'purge', baseUrl: flags['purge-url']}
  if (flags['cdn-distribution']) return {mode: 'cloudfront', distributionId: flags['cdn-distribution'], wait: flags['wait-invalidation']}
  throw new UserError('--invalidate needs --cdn-distribution ID (CloudFront) or --purge-url URL')
}
