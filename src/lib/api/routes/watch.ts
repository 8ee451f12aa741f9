/**
 * The pages viewers open: `GET /` (the videos, linked to their watch pages) and `GET /watch/ID`
 * (player, quality menu, live badge, comments), with their scripts and styles under /assets/BUILD/.
 * Sent with a strict Content-Security-Policy header; no inline script anywhere.
 */
import fastifyStatic from '@fastify/static'
import type {RouteModule} from '../type-provider.js'

import {listVideos} from '../../catalog/videos.js'
import type {ApiContext} from '../context.js'
import {HttpError} from '../http-errors.js'
import {contentSecurityPolicy, renderIndexPage, renderWatchPage} from '../pages.js'
import * as schemas from '../schemas.js'

export const watchRoutes: RouteModule<{context: ApiContext}> = async (app, {context}) => {
  const {catalog, videos, web, urls} = context
  const csp = contentSecurityPolicy({mediaOrigin: urls.externalMediaOrigin})
  const pageHeaders = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-cache',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
  }

  const requireAssets = () => {
    if (!web.buildId) throw new HttpError(503, 'unavailable', `The watch page's scripts are not built (${web.dir}): run \`npm run build\``)
  }

  if (web.buildId) {
    await app.register(fastifyStatic, {
      root: web.dir,
      prefix: web.basePath,
      // The URLs carry a hash of the build: nothing under them ever changes.
      immutable: true,
      maxAge: '365d',
      preCompressed: true,
      decorateReply: false,
      index: false,
      list: false,
      allowedPath: (pathName) => /\.(js|css|map)$/.test(pathName),
      schemaHide: true,
    })
  }

  app.get('/', {schema: {hide: true, querystring: schemas.indexQuery}}, async (request, reply) => {
    const page = await listVideos(catalog, {after: request.query.after, limit: 100})
    return reply.headers(pageHeaders).send(renderIndexPage({...page, assetsPath: web.basePath}))
  })

  app.get('/watch/:id', {schema: {hide: true, params: schemas.idParams, querystring: schemas.watchQuery}}, async (request, reply) => {
    requireAssets()
    const video = await videos.get(request.params.id)
    const {player, device} = request.query
    // A low-latency live video plays from its ingest node's origin: the page may fetch from there too.
    const liveOrigin = video.status === 'live' && video.liveOriginUrl ? new URL(video.liveOriginUrl).origin : undefined
    return reply.headers(liveOrigin ? {...pageHeaders, 'content-security-policy': contentSecurityPolicy({mediaOrigin: urls.externalMediaOrigin, liveOrigin})} : pageHeaders).send(renderWatchPage({video, assetsPath: web.basePath, vendor: web.vendor, player: player ?? 'auto', device}))
  })
}
