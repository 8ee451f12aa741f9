/**
 * Comments: POST /comment, GET /video/comments (pages), and GET /video/comments/stream, the new
 * comments of a video as server-sent events as they are stored, each with its cursor as the
 * event id, so a reconnecting EventSource (Last-Event-ID) gets exactly what it missed.
 */
import type {RouteModule} from '../type-provider.js'

import type {FeedEvent} from '../../catalog/comment-feed.js'
import {assertVideoExists, decodeCursor, listComments, postComment} from '../../catalog/comments.js'
import type {ApiContext} from '../context.js'
import * as schemas from '../schemas.js'

/** A client this far behind (bytes queued on its socket) is dropped; it reconnects and catches up from its cursor. */
const MAX_QUEUED_BYTES = 1024 * 1024
/** How long an EventSource waits before reconnecting. */
const RECONNECT_MS = 2000

/** An event as SSE text, made once per comment however many streams get it (JSON has no raw newlines). */
const sseTexts = new WeakMap<FeedEvent, string>()
function sseText(event: FeedEvent): string {
  let text = sseTexts.get(event)
  if (text === undefined) {
    text = `id: ${event.comment.cursor}\nevent: comment\ndata: ${event.json}\n\n`
    sseTexts.set(event, text)
  }

  return text
}

export const commentRoutes: RouteModule<{context: ApiContext}> = async (app, {context}) => {
  const {catalog, metrics, feed} = context
  const errors = {400: {$ref: 'Error#'}, 404: {$ref: 'Error#'}, 503: {$ref: 'Error#'}} as const

  app.post('/comment', {
    config: context.commentsPerMinute > 0 ? {rateLimit: {max: context.commentsPerMinute, timeWindow: '1 minute'}} : {},
    schema: {
      summary: 'Store a comment. Posting the same id again returns the first stored comment.',
      body: schemas.postCommentBody,
      response: {200: {$ref: 'Comment#'}, 201: {$ref: 'Comment#'}, 403: {$ref: 'Error#'}, 409: {$ref: 'Error#'}, 413: {$ref: 'Error#'}, 415: {$ref: 'Error#'}, 429: {$ref: 'Error#'}, ...errors},
    },
  }, async (request, reply) => {
    const {comment, created} = await postComment(catalog, request.body)
    if (created) {
      metrics.commentsPosted.inc()
      void feed.notify()
    }

    return reply.code(created ? 201 : 200).header('idempotent-replayed', String(!created)).send(comment)
  })

  app.get('/video/comments', {
    schema: {
      summary: 'Comments of a video, oldest first, with a cursor for the next page.',
      querystring: schemas.listCommentsQuery,
      response: {200: schemas.commentPageSchema, ...errors},
    },
  }, async (request) => listComments(catalog, {videoId: request.query.video_id, after: request.query.after, limit: request.query.limit}))

  app.get('/video/comments/stream', {
    sse: {kind: 'manual'},
    schema: {
      summary: 'New comments of a video as server-sent events (event "comment", id = the comment\'s cursor), from now or from a cursor.',
      description: 'A reconnecting EventSource sends Last-Event-ID and gets exactly the comments it missed. A comment line is sent every 15 s when there is nothing else to say.',
      querystring: schemas.commentStreamQuery,
      response: {200: {description: 'text/event-stream', type: 'string'}, ...errors},
    },
  }, async (request, reply) => {
    const {video_id: videoId, after} = request.query
    const lastEventId = request.headers['last-event-id']
    const cursor = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : after
    // Refused before the stream starts, as plain JSON errors: a bad cursor, an unknown video.
    const afterSeq = cursor === undefined ? undefined : decodeCursor(cursor)
    await assertVideoExists(catalog, videoId)

    const sse = reply.sse
    if (!sse) throw new Error('SSE context missing on an SSE route')
    // The client may have gone while the checks ran: then there is nothing to stream to.
    if (!sse.isConnected || reply.raw.destroyed || request.raw.destroyed) return
    reply.header('cache-control', 'no-cache, no-transform')
    let unsubscribe: (() => void) | undefined
    let ended = false
    /** Writes SSE text as it is: one string per event for every stream (no per-stream serialising or drain listeners). */
    const write = (text: string) => {
      if (!reply.raw.headersSent) sse.sendHeaders()
      reply.raw.write(text)
    }

    const end = () => {
      if (ended) return
      ended = true
      unsubscribe?.()
      metrics.commentStreams.dec()
      sse.close()
    }

    metrics.commentStreams.inc()
    sse.onClose(end)
    try {
      // The catch-up (comments after the cursor) is written as part of subscribing.
      unsubscribe = await feed.subscribe(videoId, afterSeq, {
        onComment: (event) => {
          if (ended) return
          // A client this far behind is dropped; it reconnects and catches up from its last event.
          if (reply.raw.writableLength > MAX_QUEUED_BYTES) {
            end()
            return
          }

          write(sseText(event))
          metrics.commentEvents.inc()
        },
        onEnd: () => {
          // The server is closing: an event stream that ends (never an empty 200) makes EventSource reconnect.
          if (!ended && sse.isConnected) write(`retry: ${RECONNECT_MS}\n\n`)
          end()
        },
      })
    } catch (error) {
      end()
      // Before anything was written the client gets a JSON error (503 while the catalog is away).
      if (!reply.raw.headersSent) throw error
      request.log.warn({err: error}, 'comment stream failed during its catch-up')
      return
    }

    if (ended) {
      unsubscribe()
      return
    }

    sse.keepAlive()
    // Headers (if the catch-up was empty) and the reconnect delay go out at once: the stream is open.
    write(`retry: ${RECONNECT_MS}\n\n`)
  })
}
