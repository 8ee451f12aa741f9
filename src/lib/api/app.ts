/**
 * The HTTP app factory: Fastify with its plugins (OpenAPI, CORS, server-sent events), one error
 * mapping for every route (by error class, see http-errors.ts), metrics, and the route modules,
 * one per resource: frames, comments, videos, media, watch pages, ops.
 */
import {fastifySSE} from '@fastify/sse'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import type {SchemaTypeProvider} from './type-provider.js'
import {Ajv} from 'ajv'
import Fastify, {type FastifyInstance, type FastifyReply} from 'fastify'

import {CommentFeed} from '../catalog/comment-feed.js'
import {type Catalog, isSchemaMissingError} from '../catalog/connection.js'
import type {StorageConfig} from '../storage/open.js'
import {ApiContext, MediaUrls, type MediaUrlOptions, PackageStorages, VideoCache} from './context.js'
import {type CorsPolicy, parseCorsOrigins, registerCors} from './cors.js'
import {DEFAULT_DEVICE_PROFILES, type DeviceProfiles} from './device-profiles.js'
import {errorBody, HttpError, toErrorResponse, writeClientError} from './http-errors.js'
import {type ApiMetrics, createApiMetrics} from './metrics.js'
import {commentRoutes} from './routes/comments.js'
import {frameRoutes} from './routes/frames.js'
import {mediaRoutes} from './routes/media.js'
import {opsRoutes} from './routes/ops.js'
import {type UploadSettings, uploadRoutes} from './routes/uploads.js'
import {videoRoutes} from './routes/videos.js'
import {watchRoutes} from './routes/watch.js'
import * as schemas from './schemas.js'
import {loadWebAssets, type WebAssets} from './web-assets.js'

export interface ApiOptions extends MediaUrlOptions {
  catalog: Catalog
  /** How to open S3/HDFS package locations when this server proxies their media. */
  storageConfig?: StorageConfig
  deviceProfiles?: DeviceProfiles
  /** Who may call the API and fetch media from other origins (default: anyone reads, nobody else writes). */
  cors?: CorsPolicy
  /** How long a video's package stays cached in memory (a live package changes). */
  cacheTtlMs?: number
  bodyLimitBytes?: number
  /** How often open comment streams look for comments stored by other replicas (default 100 ms). */
  commentPollMs?: number
  /** Interval of the keep-alive comment on idle comment streams (default 15 s). */
  heartbeatMs?: number
  /** Comments one client may post per minute (default: no limit; `livectl serve` sets 30). */
  commentsPerMinute?: number
  /** Trust X-Forwarded-For from a proxy in front (client addresses for rate limits and logs). */
  trustProxy?: boolean
  /** The watch page's built assets (default: dist/web of this package). */
  webAssets?: WebAssets
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug'
  /** POST /videos (uploads) and where their jobs go; without it the route does not exist. */
  uploads?: UploadSettings
  /** The job queue, for its depth and job durations in /metrics. */
  queueUrl?: string
}

export type ApiApp = FastifyInstance

/** Ajv for query strings and params (strings coerced to numbers) and a strict one for JSON bodies (wrong types are errors). */
function validatorCompiler() {
  const options = {useDefaults: true, removeAdditional: false, allErrors: false, strict: false} as const
  const lenient = new Ajv({...options, coerceTypes: true})
  const strict = new Ajv({...options, coerceTypes: false})
  return ({schema, httpPart}: {schema: object; httpPart?: string}) => (httpPart === 'body' ? strict : lenient).compile(schema)
}

export async function buildApiServer(options: ApiOptions): Promise<{app: ApiApp; metrics: ApiMetrics; context: ApiContext}> {
  const {catalog} = options
  const metrics = createApiMetrics()
  const app = Fastify({
    logger: options.logLevel && options.logLevel !== 'silent' ? {level: options.logLevel} : false,
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: options.trustProxy ?? false,
    // Errors Fastify meets before any route (a malformed URL, an over-long parameter) get the same envelope.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const response = toErrorResponse(error)
      void reply.code(response.status).headers(response.headers).send(response.body)
    },
    // And so do those Node's HTTP parser meets before Fastify (oversized headers, a garbled request line).
    clientErrorHandler: writeClientError,
  }).withTypeProvider<SchemaTypeProvider>()
  app.setValidatorCompiler(validatorCompiler())
  // JSON only: without this, Fastify would parse text/plain bodies too instead of answering 415.
  app.removeContentTypeParser('text/plain')
  // JSON must be valid UTF-8: Fastify's own parser would store invalid bytes as replacement characters.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const strictUtf8 = new TextDecoder('utf-8', {fatal: true})
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', {parseAs: 'buffer'}, (request, body, done) => {
    let text: string
    try {
      text = strictUtf8.decode(body as Buffer)
    } catch {
      done(new HttpError(400, 'bad_request', 'The body is not valid UTF-8'), undefined)
      return
    }

    parseJson(request, text, done)
  })

  // A catalog whose schema went away (database dropped and re-created) is migrated again as soon as a request notices.
  const repairIfSchemaMissing = (error: unknown) => {
    if (isSchemaMissingError(error)) void catalog.repair().then((repaired) => repaired && app.log.warn(`catalog schema was missing; migrated ${catalog.display} again`))
  }

  const feed = new CommentFeed(catalog, {
    pollIntervalMs: options.commentPollMs,
    onError: (error) => {
      app.log.warn({err: error}, 'comment feed: polling the catalog failed; trying again')
      repairIfSchemaMissing(error)
    },
  })
  const context: ApiContext = {
    repairIfSchemaMissing,
    catalog,
    metrics,
    feed,
    profiles: options.deviceProfiles ?? DEFAULT_DEVICE_PROFILES,
    videos: new VideoCache(catalog, options.cacheTtlMs ?? 1000),
    urls: new MediaUrls(options),
    storages: new PackageStorages(options.storageConfig ?? {}),
    cors: options.cors ?? parseCorsOrigins(undefined),
    web: options.webAssets ?? (await loadWebAssets()),
    heartbeatMs: options.heartbeatMs ?? 15_000,
    commentsPerMinute: options.commentsPerMinute ?? 0,
    ...(options.queueUrl ? {queueUrl: options.queueUrl} : {}),
  }

  // Every answer, JSON and media included: browsers must not guess content types.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    return payload
  })

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({method: request.method, route, status: String(reply.statusCode)})
    metrics.latency.observe({method: request.method, route}, reply.elapsedTime / 1000)
  })
  // Open comment streams would hold the shutdown until its timeout: end them first.
  app.addHook('preClose', async () => feed.close())

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`))
  })

  app.setErrorHandler((error, request, reply) => {
    repairIfSchemaMissing(error)
    const response = toErrorResponse(error)
    if (response.log === 'error') request.log.error({err: error}, 'unhandled error')
    else if (response.log === 'warn') request.log.warn({err: error}, response.body.error.message)
    return reply.code(response.status).headers(response.headers).send(response.body)
  })

  await app.register(swagger, {
    openapi: {
      info: {title: 'livectl API', version: '1', description: 'Frames for players, comments (also as a live stream), videos and their media.'},
      // Uploads (POST /videos, with `serve --upload-token`) need the token as a bearer token.
      components: {securitySchemes: {bearerAuth: {type: 'http', scheme: 'bearer'}}},
    },
  })
  for (const schema of [schemas.errorSchema, schemas.frameSchema, schemas.commentSchema, schemas.videoSchema]) app.addSchema(schema)
  await registerCors(app, context.cors, options.publicUrl)
  // Only routes that ask for it are limited (POST /comment); 429 with Retry-After, in the envelope.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, limit) => new HttpError(429, 'too_many_requests', `Too many requests: at most ${limit.max} per ${limit.after}; try again in ${Math.ceil(limit.ttl / 1000)} s`),
  })
  await app.register(fastifySSE, {heartbeatInterval: context.heartbeatMs})

  await app.register(frameRoutes, {context})
  await app.register(commentRoutes, {context})
  await app.register(videoRoutes, {context})
  if (options.uploads) await app.register(uploadRoutes, {context, uploads: options.uploads})
  await app.register(mediaRoutes, {context, tokenSigning: options.tokenSigning})
  await app.register(watchRoutes, {context})
  await app.register(opsRoutes, {context})

  return {app, metrics, context}
}
