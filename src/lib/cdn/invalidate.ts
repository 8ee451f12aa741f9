/**
 * CDN invalidation after a publish: CloudFront (batched CreateInvalidation, optionally waiting for
 * completion) or an HTTP PURGE per path for Varnish/Fastly-style caches. Only changed manifests
 * are ever invalidated: segment names never change content.
 */
import type {CloudFrontClient} from '@aws-sdk/client-cloudfront'

import {ExternalError, UserError} from '../errors.js'
import {mapConcurrent} from '../concurrency.js'
import {QUIET_LOGGER} from '../storage/s3-config.js'

export type InvalidationOptions =
  | {mode: 'cloudfront'; distributionId: string; wait?: boolean; waitSeconds?: number; endpoint?: string}
  | {mode: 'purge'; baseUrl: string}

export interface InvalidationResult {
  mode: 'cloudfront' | 'purge'
  paths: string[]
  /** CloudFront invalidation ids, one per batch. */
  ids?: string[]
  status?: string
}

/** CloudFront takes up to 3,000 paths in progress; keep each request well under it. */
const CLOUDFRONT_BATCH = 1000

function toCdnPaths(keys: readonly string[]): string[] {
  return keys.map((key) => `/${key.split('/').map(encodeURIComponent).join('/')}`)
}

/** The CloudFront SDK is loaded only when an invalidation is actually sent. */
async function cloudFrontClient(endpoint?: string): Promise<CloudFrontClient> {
  const {CloudFrontClient} = await import('@aws-sdk/client-cloudfront')
  const url = endpoint ?? process.env.AWS_ENDPOINT_URL_CLOUDFRONT
  return new CloudFrontClient({region: process.env.AWS_REGION ?? 'us-east-1', logger: QUIET_LOGGER, ...(url ? {endpoint: url} : {})})
}

export async function invalidateCdn(keys: readonly string[], options: InvalidationOptions): Promise<InvalidationResult> {
  const paths = toCdnPaths(keys)
  if (options.mode === 'purge') {
    let base: URL
    try {
      base = new URL(options.baseUrl)
    } catch {
      throw new UserError(`--purge-url is not a valid URL: ${options.baseUrl}`)
    }

    await mapConcurrent(paths, 8, async (cdnPath) => {
      const response = await fetch(new URL(cdnPath.slice(1), base.href.endsWith('/') ? base : `${base.href}/`), {method: 'PURGE', signal: AbortSignal.timeout(15_000)})
      // 404 means the cache held nothing for it: nothing to purge.
      if (!response.ok && response.status !== 404) throw new ExternalError(`PURGE ${cdnPath} answered HTTP ${response.status}`)
    })
    return {mode: 'purge', paths, status: 'Completed'}
  }

  const {CreateInvalidationCommand, GetInvalidationCommand} = await import('@aws-sdk/client-cloudfront')
  const client = await cloudFrontClient(options.endpoint)
  const ids: string[] = []
  let status = 'InProgress'
  for (let start = 0; start < paths.length; start += CLOUDFRONT_BATCH) {
    const batch = paths.slice(start, start + CLOUDFRONT_BATCH)
    const response = await client.send(new CreateInvalidationCommand({
      DistributionId: options.distributionId,
      InvalidationBatch: {CallerReference: `livectl-${Date.now()}-${start}-${Math.random().toString(36).slice(2)}`, Paths: {Quantity: batch.length, Items: batch}},
    })).catch((error: unknown) => {
      throw new ExternalError(`CloudFront invalidation of distribution ${options.distributionId} failed: ${(error as Error).message}`, {cause: error})
    })
    const id = response.Invalidation?.Id
    if (id) ids.push(id)
    status = response.Invalidation?.Status ?? status
  }

  if (options.wait) {
    const deadline = Date.now() + (options.waitSeconds ?? 900) * 1000
    for (const id of ids) {
      // Polled by hand rather than with the SDK waiter, which only knows CloudFront's exact
      // spelling "Completed" (emulators answer "COMPLETED").
      for (let delayMs = 500; ; delayMs = Math.min(delayMs * 2, 20_000)) {
        const current = await client.send(new GetInvalidationCommand({DistributionId: options.distributionId, Id: id}))
        if (current.Invalidation?.Status?.toLowerCase() === 'completed') break
        if (Date.now() + delayMs > deadline) throw new ExternalError(`CloudFront invalidation ${id} did not complete within ${options.waitSeconds ?? 900} s`)
        await new Promise((resolve) => setTimeout(resolve, delayMs))
      }
    }

    status = 'Completed'
  }

  return {mode: 'cloudfront', paths, ids, status}
}
