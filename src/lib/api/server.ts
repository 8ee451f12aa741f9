/**
 * The HTTP API (Fastify): frames for players, comments, video metadata, the packaged media,
 * health, metrics and an OpenAPI document. Every error is JSON with a stable shape.
 */
import {createReadStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'

import swagger from '@fastify/swagger'
import {Ajv} from 'ajv'
import Fastify, {type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify'

import {CommentConflictError, listComments, postComment, type PostCommentInput} from '../catalog/comments.js'
import {type Catalog, isUnavailableError} from '../catalog/connection.js'
import {findVideoWithPackage, listVideos, type VideoWithPackage} from '../catalog/videos.js'
import {type CloudFrontSigning, signCloudFrontUrl, signUrlWithToken, type TokenSigning, verifyToken} from '../cdn/sign.js'
import {UserError} from '../errors.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import type {Storage} from '../storage/storage.js'
import {DEFAULT_DEVICE_PROFILES, type DeviceProfiles} from './device-profiles.js'
import {DEFAULT_WINDOW_SECONDS, framePlanKey, framesFromPlan, planFrames} from './frames.js'
import {cacheControlFor, contentTypeFor, isSafeFileName, parseRange} from './media.js'
import {type ApiMetrics, createApiMetrics} from './metrics.js'
import * as schemas from './schemas.js'

export interface ApiOptions {
  catalog: Catalog
  /** CDN (or storage) base of published media: URLs become BASE/VIDEO_ID/FILE. Default: this server's /media. */
  mediaBaseUrl?: string
  /** Hand out path-token signed URLs and require them on /media (livectl's own origin, or nginx). */
  tokenSigning?: TokenSigning
  /** Hand out CloudFront signed URLs (needs mediaBaseUrl). */
  cloudFrontSigning?: CloudFrontSigning
  /** How to open S3/HDFS package locations when this server proxies their media. */
  storageConfig?: StorageConfig
  deviceProfiles?: DeviceProfiles
  /** Base of media URLs handed out, e.g. https://video.example.com; default: from the request. */
  publicUrl?: string
  /** How long a video's package stays cached in memory (a live package changes). */
  cacheTtlMs?: number
  bodyLimitBytes?: number
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug'
}

/** Serialised /video/time answers kept in memory (each a few KB). */
const FRAME_CACHE_ENTRIES = 2000

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

const STATUS_CODES: Record<number, string> = {400: 'bad_request', 403: 'forbidden', 404: 'not_found', 409: 'conflict', 413: 'payload_too_large', 415: 'unsupported_media_type', 416: 'range_not_satisfiable', 429: 'too_many_requests', 503: 'unavailable'}

function errorBody(statusCode: number, code: string, message: string) {
  return {error: {status: statusCode, code, message}}
}

/** Ajv for query strings and params (strings coerced to numbers) and a strict one for JSON bodies (wrong types are errors). */
function validatorCompiler() {
  const options = {useDefaults: true, removeAdditional: false, allErrors: false, strict: false} as const
  const lenient = new Ajv({...options, coerceTypes: true})
  const strict = new Ajv({...options, coerceTypes: false})
  return ({schema, httpPart}: {schema: object; httpPart?: string}) => (httpPart === 'body' ? strict : lenient).compile(schema)
}

export async function buildApiServer(options: ApiOptions): Promise<{app: FastifyInstance; metrics: ApiMetrics}> {
  const {catalog} = options
  const profiles = options.deviceProfiles ?? DEFAULT_DEVICE_PROFILES
  const cacheTtlMs = options.cacheTtlMs ?? 1000
  const metrics = createApiMetrics()
  const app = Fastify({
    logger: options.logLevel && options.logLevel !== 'silent' ? {level: options.logLevel} : false,
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  })
  app.setValidatorCompiler(validatorCompiler())
  // JSON only: without this, Fastify would parse text/plain bodies too instead of answering 415.
  app.removeContentTypeParser('text/plain')

  await app.register(swagger, {
    openapi: {
      info: {title: 'livectl API', version: '1', description: 'Frames for players, comments, videos and their media.'},
    },
  })
  for (const schema of [schemas.errorSchema, schemas.frameSchema, schemas.commentSchema, schemas.videoSchema]) app.addSchema(schema)

  // Package cache: /video/time is the hot path; a live video's package is re-read after the TTL.
  const packageCache = new Map<string, {video: VideoWithPackage; expires: number}>()
  async function loadVideo(id: string): Promise<VideoWithPackage> {
    const cached = packageCache.get(id)
    if (cached && cached.expires > Date.now()) return cached.video
    const video = await findVideoWithPackage(catalog, id)
    if (!video) throw new HttpError(404, 'not_found', `Unknown video "${id}"`)
    if (packageCache.size > 10_000) packageCache.clear()
    packageCache.set(id, {video, expires: Date.now() + cacheTtlMs})
    return video
  }

  const frameCache = new Map<string, string>()

  const baseUrl = (request: FastifyRequest) => options.publicUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`
  const mediaBase = (request: FastifyRequest) => options.mediaBaseUrl?.replace(/\/$/, '') ?? `${baseUrl(request)}/media`
  // Signed URLs change once a minute, not on every request, so answers stay cacheable.
  const signingWindow = () => Math.floor(Date.now() / 60_000) * 60
  const signUrl = (url: string, window: number) => {
    if (options.cloudFrontSigning && options.mediaBaseUrl) return signCloudFrontUrl(url, options.cloudFrontSigning, window)
    if (options.tokenSigning) return signUrlWithToken(url, options.tokenSigning, window)
    return url
  }

  const mediaUrl = (request: FastifyRequest, id: string, file: string, window = signingWindow()) => signUrl(`${mediaBase(request)}/${id}/${file}`, window)

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({method: request.method, route, status: String(reply.statusCode)})
    metrics.latency.observe({method: request.method, route}, reply.elapsedTime / 1000)
  })

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`))
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).send(errorBody(error.statusCode, error.code, error.message))
    if (error instanceof CommentConflictError) return reply.code(409).send(errorBody(409, 'conflict', error.message))
    if (error instanceof UserError) {
      const notFound = /^Unknown video/.test(error.message)
      return reply.code(notFound ? 404 : 400).send(errorBody(notFound ? 404 : 400, notFound ? 'not_found' : 'bad_request', error.message))
    }

    if (error.validation) return reply.code(400).send(errorBody(400, 'bad_request', `${error.validationContext ?? 'request'}${error.message.replace(/^(body|querystring|params)/, '')}`))
    if (isUnavailableError(error)) {
      request.log.warn({err: error}, 'catalog unavailable')
      return reply.code(503).header('retry-after', '5').send(errorBody(503, 'unavailable', 'The catalog database is unavailable; try again shortly.'))
    }

    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) {
      request.log.error({err: error}, 'unhandled error')
      return reply.code(500).send(errorBody(500, 'internal', 'Internal server error'))
    }

    return reply.code(status).send(errorBody(status, STATUS_CODES[status] ?? 'bad_request', error.message))
  })

  const errorResponses = {400: {$ref: 'Error#'}, 404: {$ref: 'Error#'}, 503: {$ref: 'Error#'}}

  app.get('/video/time', {
    schema: {
      summary: 'The segments a player of DEVICE needs from OFFSET on.',
      querystring: schemas.videoTimeQuery,
      response: {200: {type: 'array', items: {$ref: 'Frame#'}}, ...errorResponses},
    },
  }, async (request, reply) => {
    const query = request.query as {id: string; device: string; offset: number; duration: number; bandwidth?: number}
    const profile = profiles[query.device]
    if (!profile) throw new HttpError(400, 'bad_request', `Unknown device "${query.device}": use one of ${Object.keys(profiles).join(', ')}`)
    const video = await loadVideo(query.id)
    if (!video.package) return reply.type('application/json; charset=utf-8').send('[]')
    const plan = planFrames(video.package, {offsetSeconds: query.offset, windowSeconds: query.duration ?? DEFAULT_WINDOW_SECONDS, profile, bandwidthHintKbps: query.bandwidth})
    // Most players ask for the same windows: serialise each distinct answer once.
    const window = signingWindow()
    const key = `${video.id}|${video.updatedAt}|${mediaBase(request)}|${window}|${framePlanKey(plan)}`
    let body = frameCache.get(key)
    if (body === undefined) {
      body = JSON.stringify(framesFromPlan(plan, (file) => mediaUrl(request, video.id, file, window)))
      if (frameCache.size >= FRAME_CACHE_ENTRIES) frameCache.clear()
      frameCache.set(key, body)
    }

    return reply.type('application/json; charset=utf-8').send(body)
  })

  app.post('/comment', {
    schema: {
      summary: 'Store a comment. Posting the same id again returns the first stored comment.',
      body: schemas.postCommentBody,
      response: {200: {$ref: 'Comment#'}, 201: {$ref: 'Comment#'}, 409: {$ref: 'Error#'}, 413: {$ref: 'Error#'}, 415: {$ref: 'Error#'}, ...errorResponses},
    },
  }, async (request, reply) => {
    const {comment, created} = await postComment(catalog, request.body as PostCommentInput)
    if (created) metrics.commentsPosted.inc()
    return reply.code(created ? 201 : 200).header('idempotent-replayed', String(!created)).send(comment)
  })

  app.get('/video/comments', {
    schema: {
      summary: 'Comments of a video, oldest first, with a cursor for the next page.',
      querystring: schemas.listCommentsQuery,
      response: {200: {type: 'object', properties: {comments: {type: 'array', items: {$ref: 'Comment#'}}, next: {type: ['string', 'null']}}}, ...errorResponses},
    },
  }, async (request) => {
    const query = request.query as {video_id: string; after?: string; limit: number}
    return listComments(catalog, {videoId: query.video_id, after: query.after, limit: query.limit})
  })

  const describeVideo = (request: FastifyRequest, video: VideoWithPackage) => ({
    ...video,
    hlsUrl: video.package?.hlsMaster ? mediaUrl(request, video.id, video.package.hlsMaster) : null,
    dashUrl: video.package?.dashManifest ? mediaUrl(request, video.id, video.package.dashManifest) : null,
    renditions: (video.package?.renditions ?? []).map(({name, width, height, bandwidth, codecs}) => ({name, width, height, bandwidth, codecs})),
  })

  app.get('/videos', {
    schema: {
      summary: 'Videos, newest first.',
      querystring: schemas.listVideosQuery,
      response: {200: {type: 'object', properties: {videos: {type: 'array', items: {$ref: 'Video#'}}, next: {type: ['string', 'null']}}}, ...errorResponses},
    },
  }, async (request) => {
    const query = request.query as {after?: string; limit: number}
    return listVideos(catalog, query)
  })

  app.get('/videos/:id', {
    schema: {summary: 'A video with its HLS and DASH URLs.', params: schemas.idParams, response: {200: {$ref: 'Video#'}, ...errorResponses}},
  }, async (request) => describeVideo(request, await loadVideo((request.params as {id: string}).id)))

  const storages = new Map<string, Promise<Storage>>()
  /** Size and a reader of a file of a video's package, wherever the package lives. */
  async function openPackageFile(video: VideoWithPackage, file: string): Promise<{size: number; modified?: Date; read: (range?: {start: number; end: number}) => Promise<Readable>} | undefined> {
    const location = video.packageLocation
    if (location.startsWith('/') || location.startsWith('file://')) {
      const filePath = path.join(location.startsWith('file://') ? fileURLToPath(location) : location, file)
      try {
        const info = await stat(filePath)
        if (!info.isFile()) return undefined
        return {size: info.size, modified: info.mtime, read: async (range) => createReadStream(filePath, range ?? {})}
      } catch {
        return undefined
      }
    }

    let opening = storages.get(location)
    if (!opening) {
      opening = openStorage(location, options.storageConfig)
      // A URI that cannot be opened is not remembered: the next request gets the same clear error.
      opening.catch(() => storages.delete(location))
      storages.set(location, opening)
    }

    const opened = await opening
    const info = await opened.head(file)
    return info ? {size: info.sizeBytes, read: (range) => opened.get(file, range)} : undefined
  }

  const serveMedia = async (request: FastifyRequest, reply: FastifyReply) => {
    const {id, file} = request.params as {id: string; file: string}
    if (!isSafeFileName(file)) throw new HttpError(400, 'bad_request', 'Invalid file name')
    const video = await loadVideo(id)
    const opened = await openPackageFile(video, file)
    if (!opened) throw new HttpError(404, 'not_found', `No file "${file}" in video "${id}"`)
    const {size, modified} = opened

    const etag = `"${size.toString(16)}-${Math.floor(modified?.getTime() ?? Date.parse(video.updatedAt)).toString(16)}"`
    reply.header('content-type', contentTypeFor(file)).header('cache-control', cacheControlFor(file)).header('accept-ranges', 'bytes').header('etag', etag)
    if (modified) reply.header('last-modified', modified.toUTCString())
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    const range = parseRange(request.headers.range, size)
    if (range === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${size}`).header('content-type', 'application/json; charset=utf-8').send(errorBody(416, 'range_not_satisfiable', `Range outside 0-${size - 1}`))
    }

    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    reply.header('content-length', range ? range.end - range.start + 1 : size)
    if (request.method === 'HEAD') return reply.send()
    return reply.send(await opened.read(range))
  }

  const mediaParams = {type: 'object', properties: {id: {type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'}, file: {type: 'string'}, token: {type: 'string'}}} as const
  app.route({
    method: ['GET', 'HEAD'],
    url: '/media/:id/:file',
    schema: {hide: true, params: mediaParams},
    handler: async (request, reply) => {
      if (options.tokenSigning) throw new HttpError(403, 'forbidden', 'This server requires signed media URLs: get them from /video/time or /videos/ID')
      return serveMedia(request, reply)
    },
  })
  app.route({
    method: ['GET', 'HEAD'],
    url: '/t/:token/media/:id/:file',
    schema: {hide: true, params: mediaParams},
    handler: async (request, reply) => {
      if (!options.tokenSigning) throw new HttpError(404, 'not_found', 'Signed URLs are not enabled on this server')
      const {token, id} = request.params as {token: string; id: string}
      const check = verifyToken(token, `/media/${id}/`, options.tokenSigning)
      if (check !== 'valid') throw new HttpError(403, 'forbidden', check === 'expired' ? 'The signed URL has expired' : 'The signed URL is not valid')
      return serveMedia(request, reply)
    },
  })

  app.get('/healthz', {schema: {hide: true}}, async (_request, reply) => {
    try {
      await catalog.db.selectFrom('videos').select('id').limit(1).execute()
      return {status: 'ok', catalog: 'ok'}
    } catch (error) {
      if (!isUnavailableError(error)) throw error
      return reply.code(503).send({status: 'unavailable', catalog: 'unreachable'})
    }
  })

  app.get('/metrics', {schema: {hide: true}}, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })

  app.get('/openapi.json', {schema: {hide: true}}, async () => app.swagger())

  return {app, metrics}
}
