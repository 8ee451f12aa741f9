/** GET /videos and GET /videos/ID: the catalog, with the playlist URLs a player should use. */
import type {RouteModule} from '../type-provider.js'

import {listVideos} from '../../catalog/videos.js'
import type {ApiContext} from '../context.js'
import * as schemas from '../schemas.js'

export const videoRoutes: RouteModule<{context: ApiContext}> = async (app, {context}) => {
  const {catalog, videos, urls} = context
  const errors = {400: {$ref: 'Error#'}, 404: {$ref: 'Error#'}, 503: {$ref: 'Error#'}} as const

  app.get('/videos', {
    schema: {
      summary: 'Videos, newest first.',
      querystring: schemas.listVideosQuery,
      response: {200: {type: 'object', properties: {videos: {type: 'array', items: {$ref: 'Video#'}}, next: {type: ['string', 'null']}}}, ...errors},
    },
  }, async (request) => listVideos(catalog, request.query))

  app.get('/videos/:id', {
    schema: {summary: 'A video with its HLS and DASH URLs.', params: schemas.idParams, response: {200: {$ref: 'Video#'}, ...errors}},
  }, async (request) => {
    const video = await videos.get(request.params.id)
    const pkg = video.package
    // A low-latency stream is played from its ingest node's origin while it is live; from storage before and after.
    const origin = video.status === 'live' ? video.liveOriginUrl : undefined
    return {
      ...video,
      hlsUrl: origin ? `${origin}/master.m3u8` : pkg?.hlsMaster ? urls.media(request, video.id, pkg.hlsMaster) : null,
      dashUrl: origin ? `${origin}/manifest.mpd` : pkg?.dashManifest ? urls.media(request, video.id, pkg.dashManifest) : null,
      lowLatency: origin !== undefined,
      renditions: (pkg?.renditions ?? []).map(({name, width, height, bandwidth, codecs}) => ({name, width, height, bandwidth, codecs})),
    }
  })
}
