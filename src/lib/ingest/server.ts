/**
 * `startIngestServer`: an RTMP server that accepts pushes to rtmp://HOST:PORT/live/KEY with an
 * active stream key and turns each into a live stream (live-stream.ts: one state machine per
 * stream, which alone writes its catalog status). A refused push gets nothing: no recording, no
 * transcode, no catalog entry. On start, it first closes the streams this node left live when it
 * last stopped without ending them (a crash, kill -9, power loss).
 */
import type {DeinterlaceMode} from '../media/picture.js'
import http from 'node:http'
import type {AddressInfo} from 'node:net'
import os from 'node:os'
import path from 'node:path'

import {isSchemaMissingError, openCatalog} from '../catalog/connection.js'
import {UserError} from '../errors.js'
import type {CatalogOptions} from '../catalog/service.js'
import {upsertVideo} from '../catalog/videos.js'
import {LlRegistry} from '../origin/registry.js'
import type {Rung} from '../media/ladder.js'
import type {PackageManifest} from '../package/manifest.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import {listenError} from '../system-errors.js'
import type {FastifyInstance} from 'fastify'
import {findActiveKey, loadActiveKeys} from './keys.js'
import {LiveStream} from './live-stream.js'
import {createIngestMetrics, type IngestMetrics} from './metrics.js'
import {reconcileLiveVideos, type ReconcileResult} from './reconcile.js'
import {type RtmpPush, startRtmpServer} from './rtmp-adapter.js'
import {startLiveEncoding} from './session.js'

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
  onSessionEnd(listener: (result: {videoId: string; status: string; reason?: string}) => void): void
  close(): Promise<void>
}

const BITRATE_SAMPLE_MS = 2000
/** How long close() waits for streams to drain and publish before it stops their encoders outright. */
const SHUTDOWN_DRAIN_MS = 15_000

const isWildcardAddress = (host: string) => host === '0.0.0.0' || host === '::' || host === '[::]'

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
}

interface Broadcast {
  keyName: string
  videoId: string
  streamPath: string
  stream: LiveStream
  startedAt: string
  /** The connected broadcaster, for the ingest bitrate. */
  push?: RtmpPush
  lastBytesIn: number
}

export async function startIngestServer(options: IngestOptions): Promise<RunningIngest> {
  const nodeId = options.nodeId ?? os.hostname()
  if (options.lowLatency && !options.lowLatency.originUrl && isWildcardAddress(options.host)) {
    throw new UserError(`--low-latency with --host ${options.host}: players cannot reach an origin at a wildcard address`, {hint: 'Give the URL players reach this node\'s origin at with --origin-url (e.g. http://ingest-1.example.com:8090, or your CDN).'})
  }

  const catalog = await openCatalog({url: options.db, dataDir: options.dataDir})
  const storage = await openStorage(options.to, options)
  const metrics = createIngestMetrics()
  const reconciled = await reconcileLiveVideos({catalog, nodeId, storageConfig: options, dvrWindowSeconds: options.dvrWindowSeconds, log: options.log})
  let keys = await loadActiveKeys(catalog)
  const refresh = setInterval(() => {
    loadActiveKeys(catalog).then((fresh) => {
      keys = fresh
    }, (error: unknown) => {
      options.log(`could not refresh stream keys: ${(error as Error).message}`)
      if (isSchemaMissingError(error)) void catalog.repair()
    })
  }, options.keyRefreshMs ?? 2000)
  refresh.unref()

  const registry = new LlRegistry()
  let origin: {app: FastifyInstance; url: string} | undefined


  if (options.lowLatency) {
    // Loaded only for low latency: the origin's HTTP stack is memory a plain ingest does not need.
    const {createOriginApp} = await import('../origin/app.js')
    const app = await createOriginApp({streams: registry})
    try {
      await app.listen({host: options.host, port: options.lowLatency.originPort})
    } catch (error) {
      clearInterval(refresh)
      await app.close()
      await catalog.close()
      throw listenError(error, 'low-latency origin', options.host, options.lowLatency.originPort, '--origin-port')
    }

    const port = (app.server.address() as AddressInfo).port
    origin = {app, url: (options.lowLatency.originUrl ?? `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`).replace(/\/$/, '')}
  }

  const byKey = new Map<string, Broadcast>()
  /** Broadcasts by the RTMP session that feeds them now. */
  const bySession = new Map<string, Broadcast>()
  /** Pushes accepted whose media does not flow yet: RTMP session id to key name. */
  const accepted = new Map<string, string>()
  const endListeners: Array<(result: {videoId: string; status: string; reason?: string}) => void> = []
  const graceMs = (options.reconnectGraceSeconds ?? 10) * 1000
  let closing = false

  const begin = (keyName: string, push: RtmpPush): Broadcast => {
    const startedAt = new Date()
    const videoId = `${keyName}-${timestamp(startedAt)}`.slice(0, 64)
    const title = `${keyName} live ${startedAt.toISOString()}`
    const packageLocation = `${storage.uri.replace(/\/$/, '')}/${videoId}`
    const stream = new LiveStream({
      videoId,
      packageLocation,
      reconnectGraceMs: graceMs,
      storageOutageLimitMs: (options.storageOutageLimitSeconds ?? 60) * 1000,
    }, {
      start: (signal) => startLiveEncoding({
        videoId,
        inputUrl: `rtmp://127.0.0.1:${options.rtmpPort}${push.streamPath}`,
        workDir: path.join(options.dataDir, 'live', videoId),
        storage,
        rungs: options.rungs,
        segmentDurationSeconds: options.segmentDurationSeconds,
        dvrWindowSeconds: options.dvrWindowSeconds,
        preset: options.preset,
        ...(options.deinterlace ? {deinterlace: options.deinterlace} : {}),
        // Wait through a reconnect grace period without giving up on the input.
        readTimeoutSeconds: graceMs / 1000 + 5,
        lowLatency: options.lowLatency && origin ? {partSeconds: options.lowLatency.partSeconds, originUrl: origin.url, registry} : undefined,
        log: options.log,
        metrics: {
          speed: (speed) => metrics.encoderSpeed.set({video: videoId}, speed),
          segmentPublished: (lag) => metrics.publishLag.observe(lag),
          liveEdgeLag: (lag) => metrics.liveLatency.observe(Math.max(0, lag)),
        },
      }, signal),
      endInput: () => rtmp.endPulls(push.streamPath),
      writeStatus: (update) => upsertVideo(catalog, {
        id: videoId,
        title,
        status: update.status,
        packageLocation: update.packageLocation,
        manifest: update.manifest as PackageManifest | undefined,
        statusReason: update.reason,
        ingestNode: nodeId,
        liveOriginUrl: origin ? `${origin.url}/live/${videoId}` : undefined,
      }).then(() => undefined, (error: unknown) => {
        // A catalog whose tables went away (dropped, re-created empty) is migrated again; the stream retries the write.
        if (isSchemaMissingError(error)) void catalog.repair()
        throw error
      }),
      log: options.log,
    })
    const broadcast: Broadcast = {keyName, videoId, streamPath: push.streamPath, stream, startedAt: startedAt.toISOString(), push, lastBytesIn: 0}
    metrics.live.inc()
    options.log(`accepted a push with key ${keyName} from ${push.ip} as video ${videoId}`)
    void stream.done.then((result) => {
      if (byKey.get(keyName) === broadcast) byKey.delete(keyName)
      for (const [id, candidate] of bySession) if (candidate === broadcast) bySession.delete(id)
      // Forget the finished broadcast, so the next push with this key is a new video.
      rtmp.forget(broadcast.streamPath)
      metrics.live.dec()
      metrics.encoderSpeed.remove({video: videoId})
      metrics.ingestBitrate.remove({video: videoId})
      for (const listener of endListeners) listener(result)
    })
    return broadcast
  }

  const rtmp = await startRtmpServer({
    host: options.host,
    port: options.rtmpPort,
    stateDir: path.join(options.dataDir, 'ingest-state'),
    log: options.log,
    onPush: (push) => {
      const refuse = (reason: string) => {
        options.log(`refused a push to /${push.app}/*** from ${push.ip}: ${reason}`)
        metrics.refused.inc()
        return reason
      }

      if (closing) return refuse('ingest is stopping')
      const key = findActiveKey(keys, push.streamName)
      if (push.app !== 'live' || !key) return refuse('unknown or revoked stream key')
      const current = byKey.get(key.name)
      if (current?.push) return refuse(`key ${key.name} is already live`)
      if (current && current.stream.reconnected()) {
        current.push = push
        current.lastBytesIn = 0
        bySession.set(push.id, current)
        options.log(`key ${key.name} reconnected from ${push.ip}: video ${current.videoId} continues`)
        return undefined
      }

      if (current) return refuse(`key ${key.name} is still ending its last stream`)
      // Accepted: the stream itself starts once the push flows.
      accepted.set(push.id, key.name)
      return undefined
    },
    onFlowing: (push) => {
      const keyName = accepted.get(push.id)
      accepted.delete(push.id)
      if (keyName === undefined) return
      const broadcast = begin(keyName, push)
      byKey.set(keyName, broadcast)
      bySession.set(push.id, broadcast)
    },
    onClosed: (push) => {
      accepted.delete(push.id)
      const broadcast = bySession.get(push.id)
      bySession.delete(push.id)
      if (!broadcast) return
      if (broadcast.push?.id === push.id) broadcast.push = undefined
      broadcast.stream.disconnected()
    },
  }).catch(async (error: unknown) => {
    clearInterval(refresh)
    await origin?.app.close()
    await catalog.close()
    throw error
  })

  // Ingest bitrate of every connected broadcaster, from the bytes the RTMP server has read.
  const bitrateSampler = setInterval(() => {
    for (const broadcast of byKey.values()) {
      const bytes = broadcast.push?.bytesIn() ?? broadcast.lastBytesIn
      metrics.ingestBitrate.set({video: broadcast.videoId}, broadcast.push ? ((bytes - broadcast.lastBytesIn) * 8) / (BITRATE_SAMPLE_MS / 1000) : 0)
      broadcast.lastBytesIn = bytes
    }
  }, BITRATE_SAMPLE_MS)
  bitrateSampler.unref()

  let metricsServer: http.Server | undefined
  if (options.metricsPort !== undefined) {
    const serving = http.createServer((request, response) => {
      if (request.url !== '/metrics') return void response.writeHead(404).end()
      metrics.registry.metrics().then((text) => response.writeHead(200, {'content-type': metrics.registry.contentType}).end(text), () => response.writeHead(500).end())
    })
    try {
      await new Promise<void>((resolve, reject) => {
        serving.once('error', reject)
        serving.listen(options.metricsPort, options.host, resolve)
      })
      metricsServer = serving
    } catch (error) {
      clearInterval(refresh)
      clearInterval(bitrateSampler)
      await rtmp.stop()
      await origin?.app.close()
      await catalog.close()
      throw listenError(error, 'metrics server', options.host, options.metricsPort, '--metrics-port')
    }
  }

  return {
    rtmpUrl: `rtmp://${options.host}:${options.rtmpPort}/live`,
    originUrl: origin?.url,
    metricsUrl: metricsServer ? `http://${options.host}:${options.metricsPort}/metrics` : undefined,
    metrics,
    reconciled,
    streams: () => [...byKey.values()].map(({videoId, keyName, startedAt, stream}) => ({videoId, keyName, startedAt, state: stream.state})),
    onSessionEnd: (listener) => void endListeners.push(listener),
    close: async () => {
      closing = true
      clearInterval(refresh)
      clearInterval(bitrateSampler)
      const broadcasts = [...byKey.values()]
      // End every stream as if its broadcaster had left: the encoders drain and write their final
      // manifests, then everything is published and the videos end.
      for (const broadcast of broadcasts) broadcast.stream.shutdown()
      const late = setTimeout(() => {
        for (const broadcast of broadcasts) broadcast.stream.stopEncoder()
      }, SHUTDOWN_DRAIN_MS)
      await Promise.all(broadcasts.map((broadcast) => broadcast.stream.done))
      clearTimeout(late)
      await rtmp.stop()
      registry.stopAll()
      await origin?.app.close()
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()))
      await catalog.close()
    },
  }
}
