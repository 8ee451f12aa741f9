/** Prometheus metrics for one server: its own registry, so several servers can live in one process (tests). */
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client'

export interface ApiMetrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  latency: Histogram<'method' | 'route'>
  commentsPosted: Counter
  commentStreams: Gauge
  commentEvents: Counter
  queueJobs: Gauge<'state'>
  queueJobSeconds: Gauge<'quantile'>
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry()
  collectDefaultMetrics({register: registry, prefix: 'livectl_'})
  return {
    registry,
    requests: new Counter({
      name: 'livectl_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'livectl_http_request_duration_seconds',
      help: 'HTTP request latency by route.',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    commentsPosted: new Counter({name: 'livectl_comments_posted_total', help: 'Comments stored (repeats not counted).', registers: [registry]}),
    commentStreams: new Gauge({name: 'livectl_comment_streams_open', help: 'Open comment streams (GET /video/comments/stream).', registers: [registry]}),
    commentEvents: new Counter({name: 'livectl_comment_events_sent_total', help: 'Comments sent to streams (one per stream that got it).', registers: [registry]}),
    queueJobs: new Gauge({name: 'livectl_queue_jobs', help: 'VOD jobs in the queue by state (serve --queue), read at each scrape.', labelNames: ['state'], registers: [registry]}),
    queueJobSeconds: new Gauge({
      name: 'livectl_queue_job_duration_seconds',
      help: 'How long the last 100 completed VOD jobs took, start to finish (quantiles 0.5, 0.9, 1), read at each scrape.',
      labelNames: ['quantile'],
      registers: [registry],
    }),
  }
}
