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

  app.get('/metrics', {schema: {hide: true}}, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })

  app.get('/openapi.json', {schema: {hide: true}}, async () => app.swagger())
}
