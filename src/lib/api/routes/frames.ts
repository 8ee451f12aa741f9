/** GET /video/time: the segments a player of a device needs from an offset on. */
import type {RouteModule} from '../type-provider.js'

import type {ApiContext} from '../context.js'
import {DEFAULT_WINDOW_SECONDS, framePlanKey, framesFromPlan, planFrames} from '../frames.js'
import {HttpError} from '../http-errors.js'
import * as schemas from '../schemas.js'

/** Serialised /video/time answers kept in memory (each a few KB). */
const FRAME_CACHE_ENTRIES = 2000

export const frameRoutes: RouteModule<{context: ApiContext}> = async (app, {context}) => {
  const {profiles, videos, urls} = context
  const frameCache = new Map<string, string>()

  app.get('/video/time', {
    schema: {
      summary: 'The segments a player of DEVICE needs from OFFSET on.',
      querystring: schemas.videoTimeQuery,
      response: {200: {type: 'array', items: {$ref: 'Frame#'}}, 400: {$ref: 'Error#'}, 404: {$ref: 'Error#'}, 503: {$ref: 'Error#'}},
    },
  }, async (request, reply) => {
    const query = request.query
    const profile = profiles[query.device]
    if (!profile) throw new HttpError(400, 'bad_request', `Unknown device "${query.device}": use one of ${Object.keys(profiles).join(', ')}`)
    const video = await videos.get(query.id)
    if (!video.package) return reply.type('application/json; charset=utf-8').send('[]')
    const plan = planFrames(video.package, {offsetSeconds: query.offset, windowSeconds: query.duration ?? DEFAULT_WINDOW_SECONDS, profile, bandwidthHintKbps: query.bandwidth})
    // Most players ask for the same windows: serialise each distinct answer once.
    const window = urls.signingWindow()
    const key = `${video.id}|${video.updatedAt}|${urls.mediaBase(request)}|${window}|${framePlanKey(plan)}`
    let body = frameCache.get(key)
    if (body === undefined) {
      body = JSON.stringify(framesFromPlan(plan, (file) => urls.media(request, video.id, file, window)))
      if (frameCache.size >= FRAME_CACHE_ENTRIES) frameCache.clear()
      frameCache.set(key, body)
    }

    return reply.type('application/json; charset=utf-8').send(body)
  })
}
