/**
 * `startIngestServer`: an RTMP server that accepts pushes to rtmp://HOST:PORT/live/KEY with an
 * active stream key and turns each into a live stream (live-stream.ts: one state machine per
 * stream, which alone writes its catalog status). A refused push gets nothing: no recording, no
 * transcode, no catalog entry. On start, it first closes the streams this node left live when it
 * last stopped without ending them (a crash, kill -9, power loss).
 *
 * This file only starts the node's parts in order and wires them: the decisions about each push
 * are broadcasts.ts's, what a broadcast's stream runs is broadcast-stream.ts's, the metrics port is
 * metrics-app.ts's. Each part's release goes on one teardown stack (teardown.ts), which a failed
 * start and close() both run.
 */
import os from 'node:os'
import path from 'node:path'

import type {FastifyInstance} from 'fastify'

import {type Catalog, catalogOptions, type CatalogOptions, isSchemaMissingError, openCatalog} from '../catalog/connection.js'
import {UserError} from '../errors.js'
import type {Rung} from '../media/ladder.js'
import type {DeinterlaceMode} from '../media/picture.js'
import {LlRegistry} from '../origin/registry.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import {listenError} from '../system-errors.js'
import {type BroadcastStreamContext, createBroadcastStream} from './broadcast-stream.js'
import {BroadcastRegistry} from './broadcasts.js'
import {type ActiveKeys, findActiveKey, loadActiveKeys} from './keys.js'
import type {LiveStream, LiveStreamResult} from './live-stream.js'
import {createIngestMetrics, type IngestMetrics} from './metrics.js'
import {reconcileLiveVideos, type ReconcileResult} from './reconcile.js'
import {startRtmpServer} from './rtmp-adapter.js'
import {TeardownStack} from './teardown.js'

export interface IngestOptions extends CatalogOptions, StorageConfig {
  host: string
  rtmpPort: number
  /** Storage URI for the live packages (folder, s3://, hdfs://). */
  to: string
  rungs: readonly Rung[]
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  preset: string
  /** Interlaced pushes: auto (the stream's field order), on or off. */
  deinterlace?: DeinterlaceMode
  /** How often revocations and new keys are picked up. */
  keyRefreshMs?: number
  /** A broadcaster who reconnects within this many seconds continues the same video. */
  reconnectGraceSeconds?: number
  /** How long storage may fail before a stream ends failed (its segments wait locally meanwhile). */
  storageOutageLimitSeconds?: number
  /** This ingest node's name in the catalog (default: the host name); a restart closes only its own streams. */
  nodeId?: string
  /** Serve Prometheus metrics on this port (same host) under /metrics. */
  metricsPort?: number
  /** Low-latency HLS and DASH from this node's origin (see src/lib/origin), beside the segments in storage. */
  lowLatency?: {
    /** Seconds per chunk (LL-HLS part). */
    partSeconds: number
    /** Port of the origin (same host as RTMP); 0 picks a free one. */
    originPort: number
    /** The origin's URL as players reach it (a CDN in front); default http://HOST:PORT. */
    originUrl?: string
  }
  log: (line: string) => void
}

export interface LiveStreamInfo {
  videoId: string
  keyName: string
  startedAt: string
  state: string
}

export interface RunningIngest {
  rtmpUrl: string
  /** The low-latency origin's public URL, when low latency is on. */
  originUrl?: string
  /** Where the metrics are served, when a metrics port was given. */
  metricsUrl?: string
  metrics: IngestMetrics
  /** The streams this node left live before, closed at start. */
  reconciled: ReconcileResult[]
  streams(): LiveStreamInfo[]
  /** Resolves with each finished stream (tests and the command wait on it). */
  onSessionEnd(listener: (result: LiveStreamResult) => void): void
  close(): Promise<void>
}

const BITRATE_SAMPLE_MS = 2000
/** How long close() waits for streams to drain and publish before it stops their encoders outright. */
const SHUTDOWN_DRAIN_MS = 15_000

const isWildcardAddress = (host: string) => host === '0.0.0.0' || host === '::' || host === '[::]'

const httpBase = (host: string, port: number) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`

export async function startIngestServer(options: IngestOptions): Promise<RunningIngest> {
  if (options.lowLatency && !options.lowLatency.originUrl && isWildcardAddress(options.host)) {
    throw new UserError(`--low-latency with --host ${options.host}: players cannot reach an origin at a wildcard address`, {hint: 'Give the URL players reach this node\'s origin at with --origin-url (e.g. http://ingest-1.example.com:8090, or your CDN).'})
  }

  // Every step that acquires something pushes its release here: a later step failing, or close(), runs them all.
  const teardown = new TeardownStack()
  try {
    return await startParts(options, teardown)
  } catch (error) {
    await teardown.run().catch((cleanupError: unknown) => options.log(`while stopping after a failed start: ${(cleanupError as Error).message}`))
    throw error
  }
}

/** Starts the node's parts in order, pushing each one's release on `teardown` as soon as it exists. */
async function startParts(options: IngestOptions, teardown: TeardownStack): Promise<RunningIngest> {
  const nodeId = options.nodeId ?? os.hostname()
  const catalog = await openCatalog(catalogOptions(options))
  teardown.push('catalog', () => catalog.close())
  const storage = await openStorage(options.to, options)
  const metrics = createIngestMetrics()
  const reconciled = await reconcileLiveVideos({catalog, nodeId, storageConfig: options, dvrWindowSeconds: options.dvrWindowSeconds, log: options.log})
  const keys = await watchActiveKeys(catalog, options.keyRefreshMs ?? 2000, options.log)
  teardown.push('stream key refresh', () => keys.stop())

  const llStreams = new LlRegistry()
  let origin: {url: string; partSeconds: number; registry: LlRegistry} | undefined
  if (options.lowLatency) {
    // Loaded only for low latency: the origin's HTTP stack is memory a plain ingest does not need.
    const {createOriginApp} = await import('../origin/app.js')
    const app = await createOriginApp({streams: llStreams})
    teardown.push('low-latency origin', async () => {
      llStreams.stopAll()
      await app.close()
    })
    const port = await listen(app, options.host, options.lowLatency.originPort, 'low-latency origin', '--origin-port')
    origin = {url: (options.lowLatency.originUrl ?? httpBase(options.host, port)).replace(/\/$/, ''), partSeconds: options.lowLatency.partSeconds, registry: llStreams}
  }

  let metricsUrl: string | undefined
  if (options.metricsPort !== undefined) {
    const {createIngestMetricsApp} = await import('./metrics-app.js')
    const app = await createIngestMetricsApp({metrics, log: options.log})
    teardown.push('metrics server', () => app.close())
    metricsUrl = `${httpBase(options.host, await listen(app, options.host, options.metricsPort, 'metrics server', '--metrics-port'))}/metrics`
  }

  const endListeners: Array<(result: LiveStreamResult) => void> = []
  const streamContext: BroadcastStreamContext = {
    nodeId,
    rtmpPort: options.rtmpPort,
    dataDir: options.dataDir,
    rungs: options.rungs,
    segmentDurationSeconds: options.segmentDurationSeconds,
    dvrWindowSeconds: options.dvrWindowSeconds,
    preset: options.preset,
    deinterlace: options.deinterlace,
    reconnectGraceMs: (options.reconnectGraceSeconds ?? 10) * 1000,
    storageOutageLimitMs: (options.storageOutageLimitSeconds ?? 60) * 1000,
    catalog,
    storage,
    metrics,
    origin,
    log: options.log,
  }
  const broadcasts = new BroadcastRegistry<LiveStream>((identity, push) => createBroadcastStream(streamContext, identity, push))

  const rtmp = await startRtmpServer({
    host: options.host,
    port: options.rtmpPort,
    stateDir: path.join(options.dataDir, 'ingest-state'),
    log: options.log,
    onPush: (push) => {
      const decision = broadcasts.decide(push, findActiveKey(keys.current(), push.streamName))
      if (decision.verdict === 'refused') {
        options.log(`refused a push to /${push.app}/*** from ${push.ip}: ${decision.reason}`)
        metrics.refused.inc()
        return decision.reason
      }

      if (decision.verdict === 'reconnected') options.log(`key ${decision.broadcast.keyName} reconnected from ${push.ip}: video ${decision.broadcast.videoId} continues`)
      return undefined
    },
    onFlowing: (push) => {
      const broadcast = broadcasts.flowing(push)
      if (!broadcast) return
      metrics.live.inc()
      options.log(`accepted a push with key ${broadcast.keyName} from ${push.ip} as video ${broadcast.videoId}`)
      void broadcast.stream.done.then((result) => {
        broadcasts.finished(broadcast)
        // Forget the finished broadcast, so the next push with this key is a new video.
        push.forget()
        metrics.live.dec()
        metrics.encoderSpeed.remove({video: broadcast.videoId})
        metrics.ingestBitrate.remove({video: broadcast.videoId})
        for (const listener of endListeners) listener(result)
      })
    },
    onClosed: (push) => broadcasts.closed(push),
  })
  teardown.push('RTMP server', () => rtmp.stop())

  // Ingest bitrate of every connected broadcaster, from the bytes the RTMP server has read.
  const bitrateSampler = setInterval(() => {
    for (const {videoId, bitsPerSecond} of broadcasts.sampleBitrates(BITRATE_SAMPLE_MS / 1000)) metrics.ingestBitrate.set({video: videoId}, bitsPerSecond)
  }, BITRATE_SAMPLE_MS)
  bitrateSampler.unref()
  teardown.push('bitrate sampler', () => clearInterval(bitrateSampler))
  // First on close: no push is accepted from now on, and every stream ends before the servers it needs stop.
  // Key refreshes stop first too: no catalog query outlives the streams' end.
  teardown.push('live streams', () => {
    keys.stop()
    return endStreams(broadcasts)
  })

  return {
    rtmpUrl: `rtmp://${options.host}:${options.rtmpPort}/live`,
    originUrl: origin?.url,
    metricsUrl,
    metrics,
    reconciled,
    streams: () => broadcasts.list().map(({videoId, keyName, startedAt, stream}) => ({videoId, keyName, startedAt: startedAt.toISOString(), state: stream.state})),
    onSessionEnd: (listener) => void endListeners.push(listener),
    close: () => teardown.run(),
  }
}

/** Listens on `host:port`; returns the port (the one picked for 0). */
async function listen(app: FastifyInstance, host: string, port: number, what: string, flag: string): Promise<number> {
  try {
    await app.listen({host, port})
  } catch (error) {
    throw listenError(error, what, host, port, flag)
  }

  const address = app.server.address()
  return typeof address === 'object' && address !== null ? address.port : port
}

/** The active stream keys, loaded now and again every `refreshMs`: revocations and new keys apply within that. */
async function watchActiveKeys(catalog: Catalog, refreshMs: number, log: (line: string) => void): Promise<{current(): ActiveKeys; stop(): void}> {
  let keys = await loadActiveKeys(catalog)
  const refresh = setInterval(() => {
    loadActiveKeys(catalog).then((fresh) => {
      keys = fresh
    }, (error: unknown) => {
      log(`could not refresh stream keys: ${(error as Error).message}`)
      if (isSchemaMissingError(error)) void catalog.repair()
    })
  }, refreshMs)
  refresh.unref()
  return {current: () => keys, stop: () => clearInterval(refresh)}
}

/**
 * Ends every stream as if its broadcaster had left: the encoders drain and write their final
 * manifests, then everything is published and the videos end. Encoders still running after
 * SHUTDOWN_DRAIN_MS are stopped, and the streams end with what they have.
 */
async function endStreams(broadcasts: BroadcastRegistry<LiveStream>): Promise<void> {
  const ending = broadcasts.stop()
  for (const broadcast of ending) broadcast.stream.shutdown()
  const late = setTimeout(() => {
    for (const broadcast of ending) broadcast.stream.stopEncoder()
  }, SHUTDOWN_DRAIN_MS)
  try {
    await Promise.all(ending.map((broadcast) => broadcast.stream.done))
  } finally {
    clearTimeout(late)
  }
}
