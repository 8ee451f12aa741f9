/**
 * `GET /live/VIDEO/FILE`: a low-latency stream's playlists (blocking reload with `_HLS_msn`,
 * `_HLS_part`, delta updates with `_HLS_skip`), its MPD, init segments, parts and segments, the
 * last two streamed with chunked transfer while they are written.
 *
 * Caching, for a CDN in front: parts, segments and init segments never change under their name
 * (immutable); a blocking playlist answer is cacheable for its query string (the cache key); a
 * plain playlist and the MPD are not cached.
 */
import {createReadStream} from 'node:fs'
import type {Readable} from 'node:stream'

import type {FastifyInstance, FastifyReply} from 'fastify'

import {contentTypeFor} from '../../package/media-types.js'
import {parseBlockingRequest, parsePartUri} from '../../package/ll-hls.js'
import {LlNotFoundError} from '../ll-stream.js'
import type {LlRegistry} from '../registry.js'

const IMMUTABLE = 'public, max-age=31536000, immutable'
/** A blocking answer holds at least the part asked for: it may be reused for that same request. */
const BLOCKING_PLAYLIST = 'public, max-age=60'
const FILE_NAME = /^[A-Za-z0-9._-]{1,128}$/

const paramsSchema = {
  type: 'object',
  properties: {videoId: {type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$'}, file: {type: 'string', pattern: FILE_NAME.source}},
  required: ['videoId', 'file'],
} as const

function sendMedia(reply: FastifyReply, file: string, media: {body: Readable; complete: boolean; size?: number}) {
  reply.header('cache-control', IMMUTABLE).type(contentTypeFor(file))
  // A part or segment still being written goes out as it grows: chunked transfer, no length.
  if (media.complete && media.size !== undefined) reply.header('content-length', String(media.size))
  return reply.send(media.body)
}

export async function liveRoutes(app: FastifyInstance, {streams}: {streams: LlRegistry}): Promise<void> {
  app.get<{Params: {videoId: string; file: string}; Querystring: Record<string, string>}>('/live/:videoId/:file', {schema: {params: paramsSchema}}, async (request, reply) => {
    const {videoId, file} = request.params
    const stream = streams.get(videoId)
    if (!stream) throw new LlNotFoundError(`No low-latency stream ${videoId} on this origin`)

    if (file === 'master.m3u8') return reply.header('cache-control', 'no-cache').type(contentTypeFor(file)).send(stream.master())
    if (file.endsWith('.m3u8')) {
      const blocking = parseBlockingRequest(request.query)
      const text = await stream.playlist(file, blocking)
      return reply.header('cache-control', blocking.msn === undefined && !stream.isEnded ? 'no-cache' : BLOCKING_PLAYLIST).type(contentTypeFor(file)).send(text)
    }

    if (file.endsWith('.mpd')) return reply.header('cache-control', 'no-cache').type(contentTypeFor(file)).send(await stream.mpd())
    const init = stream.initPath(file)
    if (init) return reply.header('cache-control', IMMUTABLE).type(contentTypeFor(file)).send(createReadStream(init))
    const part = parsePartUri(file)
    if (part) return sendMedia(reply, file, await stream.part(part.segmentUri, part.index))
    if (file.endsWith('.m4s')) return sendMedia(reply, file, await stream.segment(file))
    throw new LlNotFoundError(`${videoId} has no ${file}`)
  })
}
