/**
 * The packaged media, read through the Storage of wherever the package lives (a local folder, S3,
 * HDFS): byte ranges, ETags, content types and cache policy. With --signing-keys, only under a
 * valid path token (/t/TOKEN/media/ID/FILE).
 */
import type {RouteModule} from '../type-provider.js'
import type {FastifyReply, FastifyRequest} from 'fastify'

import type {TokenSigning} from '../../cdn/sign.js'
import {verifyToken} from '../../cdn/sign.js'
import type {ApiContext} from '../context.js'
import {errorBody, HttpError} from '../http-errors.js'
import {cacheControlFor, contentTypeFor} from '../../package/media-types.js'
import {isSafeFileName, parseRange} from '../media.js'

const mediaParams = {
  type: 'object',
  properties: {
    id: {type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'},
    file: {type: 'string'},
    token: {type: 'string'},
  },
  required: ['id', 'file'],
} as const

export const mediaRoutes: RouteModule<{context: ApiContext; tokenSigning?: TokenSigning}> = async (app, {context, tokenSigning}) => {
  const {videos, storages} = context

  const serveMedia = async (request: FastifyRequest, reply: FastifyReply, id: string, file: string) => {
    if (!isSafeFileName(file)) throw new HttpError(400, 'bad_request', 'Invalid file name')
    const video = await videos.get(id)
    const storage = await storages.open(video.packageLocation)
    const info = await storage.head(file)
    if (!info) throw new HttpError(404, 'not_found', `No file "${file}" in video "${id}"`)
    const size = info.sizeBytes
    const modified = info.modified ?? new Date(video.updatedAt)
    const etag = info.etag ? `"${info.etag}"` : `"${size.toString(16)}-${Math.floor(modified.getTime()).toString(16)}"`
    reply.header('content-type', contentTypeFor(file)).header('cache-control', cacheControlFor(file)).header('accept-ranges', 'bytes').header('etag', etag)
    reply.header('last-modified', modified.toUTCString())
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    const range = parseRange(request.headers.range, size)
    if (range === 'unsatisfiable') {
      return reply.code(416).header('content-range', `bytes */${size}`).header('content-type', 'application/json; charset=utf-8').send(errorBody(416, 'range_not_satisfiable', `Range outside 0-${size - 1}`))
    }

    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    reply.header('content-length', range ? range.end - range.start + 1 : size)
    if (request.method === 'HEAD') return reply.send()
    return reply.send(await storage.get(file, range))
  }

  app.route({
    method: ['GET', 'HEAD'],
    url: '/media/:id/:file',
    schema: {hide: true, params: mediaParams},
    handler: async (request, reply) => {
      if (tokenSigning) throw new HttpError(403, 'forbidden', 'This server requires signed media URLs: get them from /video/time or /videos/ID')
      return serveMedia(request, reply, request.params.id, request.params.file)
    },
  })

  app.route({
    method: ['GET', 'HEAD'],
    url: '/t/:token/media/:id/:file',
    schema: {hide: true, params: mediaParams},
    handler: async (request, reply) => {
      if (!tokenSigning) throw new HttpError(404, 'not_found', 'Signed URLs are not enabled on this server')
      const {token, id, file} = request.params
      const check = verifyToken(token ?? '', `/media/${id}/`, tokenSigning)
      if (check !== 'valid') throw new HttpError(403, 'forbidden', check === 'expired' ? 'The signed URL has expired' : 'The signed URL is not valid')
      return serveMedia(request, reply, id, file)
    },
  })
}
