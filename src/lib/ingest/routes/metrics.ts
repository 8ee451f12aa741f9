/** `GET /metrics`: the ingest node's Prometheus metrics, in the registry's own exposition format. */
import type {FastifyInstance} from 'fastify'

import type {IngestMetrics} from '../metrics.js'

export async function metricsRoutes(app: FastifyInstance, {metrics}: {metrics: IngestMetrics}): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics()
    return reply.header('content-type', metrics.registry.contentType).send(text)
  })
}
