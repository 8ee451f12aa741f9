/** For operators: /healthz for load balancers, /metrics for Prometheus, /openapi.json. */
import type {RouteModule} from '../type-provider.js'

import {assertCatalogReady, isUnavailableError} from '../../catalog/connection.js'
import type {ApiContext} from '../context.js'

export const opsRoutes: RouteModule<{context: ApiContext}> = async (app, {context}) => {
  const {catalog, metrics, repairIfSchemaMissing} = context

  app.get('/healthz', {schema: {hide: true}}, async (_request, reply) => {
    try {
      await assertCatalogReady(catalog)
      await catalog.db.selectFrom('videos').select('id').limit(1).execute()
      return {status: 'ok', catalog: 'ok'}
    } catch (error) {
      if (!isUnavailableError(error)) throw error
      repairIfSchemaMissing(error)
      return reply.code(503).header('retry-after', '5').send({status: 'unavailable', catalog: 'unreachable'})
    }
  })

  app.get('/metrics', {schema: {hide: true}}, async (request, reply) => {
    if (context.queueUrl) {
      try {
        // BullMQ is loaded only by servers that have a queue.
        const {queueStatistics} = await import('../../jobs/queue-client.js')
        const {counts, durations} = await queueStatistics(context.queueUrl)
        for (const [state, count] of Object.entries(counts)) metrics.queueJobs.set({state}, count)
        const sorted = [...durations].sort((a, b) => a - b)
        for (const quantile of [0.5, 0.9, 1]) {
          if (sorted.length > 0) metrics.queueJobSeconds.set({quantile: String(quantile)}, sorted[Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1)] as number)
        }
      } catch (error) {
        // The metrics of this server still answer when the queue does not.
        request.log.warn({err: error}, 'metrics: the job queue cannot be read')
      }
    }

    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })

  app.get('/openapi.json', {schema: {hide: true}}, async () => app.swagger())
}
