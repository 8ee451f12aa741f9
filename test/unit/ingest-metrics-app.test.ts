/** The ingest node's metrics port, through Fastify's inject: the path, content type and numbers Prometheus reads. */
import {afterEach, describe, expect, it} from 'vitest'

import {createIngestMetricsApp} from '../../src/lib/ingest/metrics-app.js'
import {createIngestMetrics} from '../../src/lib/ingest/metrics.js'

let close: (() => Promise<void>) | undefined

afterEach(async () => {
  await close?.()
  close = undefined
})

async function metricsApp() {
  const metrics = createIngestMetrics()
  const log: string[] = []
  const app = await createIngestMetricsApp({metrics, log: (line) => log.push(line)})
  close = () => app.close()
  return {app, metrics, log}
}

describe('ingest metrics app', () => {
  it('serves the registry at /metrics in its own exposition format', async () => {
    const {app, metrics} = await metricsApp()
    metrics.live.inc()
    metrics.refused.inc(3)
    const response = await app.inject({method: 'GET', url: '/metrics'})
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe(metrics.registry.contentType)
    expect(response.body).toMatch(/^livectl_live_streams 1$/m)
    expect(response.body).toMatch(/^livectl_ingest_refused_total 3$/m)
    expect(response.body).toMatch(/^livectl_ingest_process_cpu_seconds_total /m)
  })

  it('answers 404 without a body for any other path', async () => {
    const {app} = await metricsApp()
    const response = await app.inject({method: 'GET', url: '/'})
    expect(response.statusCode).toBe(404)
    expect(response.body).toBe('')
  })

  it('answers 500 without a body, and logs why, when the metrics cannot be collected', async () => {
    const {app, metrics, log} = await metricsApp()
    metrics.registry.metrics = () => Promise.reject(new Error('collector failed'))
    const response = await app.inject({method: 'GET', url: '/metrics'})
    expect(response.statusCode).toBe(500)
    expect(response.body).toBe('')
    expect(log).toEqual(['metrics: could not answer a scrape: collector failed'])
  })
})
