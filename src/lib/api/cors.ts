/**
 * Cross-origin access (`--cors-origins`): players on any listed origin (or any at all with `*`)
 * may read the API and the media; writing (posting comments) is allowed cross-origin only from
 * origins listed by name, because `*` would let any page post in its visitors' name.
 */
import cors from '@fastify/cors'
import type {FastifyInstance, FastifyRequest} from 'fastify'

import {UserError} from '../errors.js'
import {HttpError} from './http-errors.js'

export interface CorsPolicy {
  /** `*` was given: any origin may read. */
  anyOriginReads: boolean
  /** Origins named explicitly (scheme://host[:port]): they may read and write. */
  origins: ReadonlySet<string>
}

const DEFAULT_CORS_ORIGINS = '*'

/** "*", "none", or a comma-separated list of origins, "*" among them or not. */
export function parseCorsOrigins(spec: string | undefined): CorsPolicy {
  const entries = (spec ?? DEFAULT_CORS_ORIGINS).split(',').map((entry) => entry.trim()).filter(Boolean)
  if (entries.length === 1 && entries[0] === 'none') return {anyOriginReads: false, origins: new Set()}
  const origins = new Set<string>()
  let anyOriginReads = false
  for (const entry of entries) {
    if (entry === '*') {
      anyOriginReads = true
      continue
    }

    let url: URL
    try {
      url = new URL(entry)
    } catch {
      throw new UserError(`--cors-origins: "${entry}" is not an origin`, {hint: 'Use *, none, or origins like https://app.example.com,http://localhost:3000.'})
    }

    if (!/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, '')) {
      throw new UserError(`--cors-origins: "${entry}" is not an origin (scheme://host[:port], no path)`, {hint: 'Use *, none, or origins like https://app.example.com.'})
    }

    origins.add(url.origin)
  }

  return {anyOriginReads, origins}
}

const READ_METHODS = new Set(['GET', 'HEAD'])

/**
 * The Access-Control-Allow-Origin a request gets: '*', the request's own origin, or false (no
 * CORS headers, so the browser refuses). `method` is the request's, or for a preflight the one
 * it asks about.
 */
export function allowedOrigin(policy: CorsPolicy, origin: string | undefined, method: string): string | false {
  if (!origin) return false
  if (policy.origins.has(origin)) return origin
  return READ_METHODS.has(method.toUpperCase()) && policy.anyOriginReads ? '*' : false
}

/**
 * True when `origin` is this server itself: its public URL when one is configured (the Host header
 * is then not trusted, so a DNS-rebinding page cannot pass for the server), else the Host the
 * request was sent to.
 */
export function isSameOrigin(origin: string, requestHost: string, publicUrl?: string): boolean {
  try {
    if (publicUrl) return new URL(publicUrl).origin === new URL(origin).origin
    return new URL(origin).host === requestHost
  } catch {
    return false
  }
}

/** Registers @fastify/cors with the policy, and refuses writes from origins it does not allow. */
export async function registerCors(app: FastifyInstance, policy: CorsPolicy, publicUrl?: string): Promise<void> {
  await app.register(cors, () => (request: FastifyRequest, callback: (error: Error | null, options: object) => void) => {
    const preflightMethod = request.method === 'OPTIONS' ? request.headers['access-control-request-method'] : undefined
    callback(null, {
      origin: allowedOrigin(policy, request.headers.origin, typeof preflightMethod === 'string' ? preflightMethod : request.method),
      methods: ['GET', 'HEAD', 'POST', 'OPTIONS'],
      allowedHeaders: ['Range', 'Content-Type', 'Last-Event-ID', 'If-None-Match'],
      exposedHeaders: ['Content-Range', 'Content-Length', 'Accept-Ranges', 'ETag', 'Idempotent-Replayed', 'Retry-After'],
      maxAge: 600,
      // A bare OPTIONS (no Origin, no Access-Control-Request-Method) is answered 204 too, not 400.
      strictPreflight: false,
    })
  })

  // A browser only withholds the answer from a refused page; the write itself would still happen.
  // So a write from an origin not listed is refused here, and so is its preflight, saying why.
  app.addHook('onRequest', async (request) => {
    const asked = request.headers['access-control-request-method']
    const method = request.method === 'OPTIONS' ? (typeof asked === 'string' ? asked.toUpperCase() : 'OPTIONS') : request.method
    if (READ_METHODS.has(method) || method === 'OPTIONS') return
    const origin = request.headers.origin
    if (!origin || isSameOrigin(origin, request.host, publicUrl) || policy.origins.has(origin)) return
    throw new HttpError(403, 'forbidden', `${method} from origin ${origin} is not allowed: only origins listed in --cors-origins may write (a * lets any origin read, never write)`)
  })
}
