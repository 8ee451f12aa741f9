/**
 * The HTTP app of an ingest node's metrics port (`--metrics-port`): Fastify, as the API and the
 * low-latency origin are built, with the one route Prometheus scrapes. Anything else is a 404
 * without a body, a failure to collect the metrics a 500 without one.
 */
import Fastify, {type FastifyInstance} from 'fastify'

import type {IngestMetrics} from './metrics.js'
import {metricsRoutes} from './routes/metrics.js'

export interface IngestMetricsAppOptions {
  metrics: IngestMetrics
  log: (line: string) => void
}

export async function createIngestMetricsApp(options: IngestMetricsAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    return503OnClosing: true,
    // A scrape in flight does not hold the ingest's shutdown.
    forceCloseConnections: true,
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff')
    return payload
  })
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send()
  })
  app.setErrorHandler((error, _request, reply) => {
    options.log(`metrics: could not answer a scrape: ${error instanceof Error ? error.message : String(error)}`)
    return reply.code(500).send()
  })
  await app.register(metricsRoutes, {metrics: options.metrics})
  return app
}
