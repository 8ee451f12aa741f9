/** Prometheus metrics of the ingest server. */
import {collectDefaultMetrics, Counter, Gauge, Histogram, Registry} from 'prom-client'

export interface IngestMetrics {
  registry: Registry
  live: Gauge
  refused: Counter
  encoderSpeed: Gauge<'video'>
  ingestBitrate: Gauge<'video'>
  publishLag: Histogram
  liveLatency: Histogram
}

export function createIngestMetrics(): IngestMetrics {
  const registry = new Registry()
  collectDefaultMetrics({register: registry, prefix: 'livectl_ingest_'})
  const seconds = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12]
  return {
    registry,
    live: new Gauge({name: 'livectl_live_streams', help: 'Streams being received now.', registers: [registry]}),
    refused: new Counter({name: 'livectl_ingest_refused_total', help: 'Pushes refused (unknown, revoked or busy key).', registers: [registry]}),
    encoderSpeed: new Gauge({name: 'livectl_live_encoder_speed', help: 'Live encoder speed, times real time (below 1 means falling behind).', labelNames: ['video'], registers: [registry]}),
    ingestBitrate: new Gauge({name: 'livectl_ingest_bitrate_bps', help: 'Bits per second received from each broadcaster.', labelNames: ['video'], registers: [registry]}),
    publishLag: new Histogram({name: 'livectl_live_segment_publish_lag_seconds', help: 'From a segment written by the encoder to its being in storage.', buckets: seconds, registers: [registry]}),
    liveLatency: new Histogram({
      name: 'livectl_live_edge_latency_seconds',
      help: 'How far the published live edge trails the broadcast, when a segment is published.',
      buckets: seconds,
      registers: [registry],
    }),
  }
}
