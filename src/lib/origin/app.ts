/**
 * The low-latency origin of an ingest node: an HTTP app that answers for the streams this node
 * encodes, from its work folder, while they are written (object storage cannot hold a request
 * open or serve a growing file). Complete segments still go to storage as for every live stream.
 * Put a CDN in front in production; see routes/live.ts for what it may cache.
 */
import cors from '@fastify/cors'
import Fastify, {type FastifyInstance, type FastifyReply} from 'fastify'

import {errorBody, writeClientError} from '../api/http-errors.js'
import {originErrorResponse} from './errors.js'
import type {LlRegistry} from './registry.js'
import {clockRoutes} from './routes/clock.js'
import {liveRoutes} from './routes/live.js'

export interface OriginAppOptions {
  streams: LlRegistry
  logLevel?: 'silent' | 'error' | 'warn' | 'info'
}

export async function createOriginApp(options: OriginAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logLevel && options.logLevel !== 'silent' ? {level: options.logLevel} : false,
    return503OnClosing: true,
    // Held requests end with the streams, not with the server: close does not wait for them.
    forceCloseConnections: true,
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const response = originErrorResponse(error)
      void reply.code(response.status).headers(response.headers).send(response.body)
    },
    clientErrorHandler: writeClientError,
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    return payload
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(404, 'not_found', `No route for ${request.method} ${request.url.split('?')[0]}`))
  })
  app.setErrorHandler((error, request, reply) => {
    const response = originErrorResponse(error)
    if (response.log === 'error') request.log.error({err: error}, 'unhandled error')
    return reply.code(response.status).headers(response.headers).send(response.body)
  })
  // Media for players on any page: reads only, nothing to protect from other origins.
  await app.register(cors, {origin: '*', methods: ['GET', 'HEAD'], exposedHeaders: ['Content-Length', 'Date']})
  await app.register(clockRoutes)
  await app.register(liveRoutes, {streams: options.streams})
  return app
}
