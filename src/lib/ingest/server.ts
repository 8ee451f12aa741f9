/**
 * `startIngestServer`: an RTMP server (node-media-server) that accepts pushes to
 * rtmp://HOST:PORT/live/KEY with an active stream key and turns each into a live session.
 * A refused push gets nothing: no recording, no transcode, no catalog entry (node-media-server's
 * own events still fire for it, so every handler checks the session was accepted).
 */
import http from 'node:http'
import {createRequire} from 'node:module'
import path from 'node:path'

import type {NmsSession} from 'node-media-server'

import {openCatalog} from '../catalog/connection.js'
import type {CatalogOptions} from '../catalog/service.js'
import {ExternalError} from '../errors.js'
import {listenError} from '../system-errors.js'
import type {Rung} from '../media/ladder.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import {findActiveKey, loadActiveKeys} from './keys.js'
import {createIngestMetrics, type IngestMetrics} from './metrics.js'
import {runLiveSession} from './session.js'

export interface IngestOptions extends CatalogOptions, StorageConfig {
  host: string
  rtmpPort: number
  /** Storage URI for the live packages (folder, s3://, hdfs://). */
  to: string
  rungs: readonly Rung[]
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  preset: string
  /** How often revocations and new keys are picked up. */
  keyRefreshMs?: number
  /** A broadcaster who reconnects within this many seconds continues the same video. */
  reconnectGraceSeconds?: number
  /** Serve Prometheus metrics on this port (same host) under /metrics. */
  metricsPort?: number
  log: (line: string) => void
}

export interface LiveStreamInfo {
  videoId: string
  keyName: string
  startedAt: string
}

export interface RunningIngest {
  rtmpUrl: string
  /** Where the metrics are served, when a metrics port was given. */
  metricsUrl?: string
  metrics: IngestMetrics
  streams(): LiveStreamInfo[]
  /** Resolves with each finished session (tests and the command wait on it). */
  onSessionEnd(listener: (result: {videoId: string; status: string}) => void): void
  close(): Promise<void>
}

const require = createRequire(import.meta.url)
const BITRATE_SAMPLE_MS = 2000

function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
}

export async function startIngestServer(options: IngestOptions): Promise<RunningIngest> {
  const catalog = await openCatalog({url: options.db, dataDir: options.dataDir})
  const storage = await openStorage(options.to, options)
  const metrics = createIngestMetrics()
  let keys = await loadActiveKeys(catalog)
  const refresh = setInterval(() => {
    loadActiveKeys(catalog).then((fresh) => {
      keys = fresh
    }, (error: unknown) => options.log(`could not refresh stream keys: ${(error as Error).message}`))
  }, options.keyRefreshMs ?? 2000)
  refresh.unref()

  const {default: NodeMediaServer} = await import('node-media-server')
  const logger = require('node-media-server/src/core/logger.js') as {level: string; log(message: string, level?: string): void}
  // Its logger writes to stdout (a banner on every start), which under --json must carry only the
  // result: its warnings and errors go to livectl's log instead, the rest nowhere.
  logger.log = (message, level = 'info') => {
    if (level === 'warn' || level === 'error') options.log(`node-media-server: ${message}`)
  }
  const context = require('node-media-server/src/core/context.js') as {broadcasts: Map<string, {subscribers: Map<string, {close(): void}>; _finishPublish?: () => void}>}
  const nms = new NodeMediaServer({
    bind: options.host,
    rtmp: {port: options.rtmpPort, chunk_size: 60_000, gop_cache: true, ping: 30, ping_timeout: 60},
    store: {path: path.join(options.dataDir, 'ingest-state')},
  })

  interface LiveEntry {
    keyName: string
    videoId: string
    streamPath: string
    controller: AbortController
    done: Promise<void>
    /** Aborted when the broadcaster is gone for good (no reconnect within the grace period). */
    publisherGone: AbortController
    connected: boolean
    /** The live session runs once per video, across reconnects. */
    sessionStarted: boolean
    graceTimer?: NodeJS.Timeout
    startedAt: string
    /** The connected broadcaster's session, for the ingest bitrate. */
    publisher?: NmsSession & {inBytes?: number}
    lastInBytes: number
  }
  const byKey = new Map<string, LiveEntry>()
  const bySession = new Map<string, LiveEntry>()
  const endListeners: Array<(result: {videoId: string; status: string}) => void> = []
  const graceMs = (options.reconnectGraceSeconds ?? 10) * 1000

  const refuse = (session: NmsSession, reason: string) => {
    options.log(`refused a push to /${session.streamApp}/*** from ${session.ip}: ${reason}`)
    metrics.refused.inc()
    session.close()
  }

  nms.on('prePublish', (session: NmsSession) => {
    const key = findActiveKey(keys, session.streamName)
    if (session.streamApp !== 'live' || !key) return refuse(session, 'unknown or revoked stream key')
    const current = byKey.get(key.name)
    if (current?.connected) return refuse(session, `key ${key.name} is already live`)
    if (current) {
      // The broadcaster is back within the grace period: the same video goes on.
      clearTimeout(current.graceTimer)
      current.connected = true
      current.publisher = session
      current.lastInBytes = 0
      bySession.set(session.id, current)
      options.log(`key ${key.name} reconnected from ${session.ip}: video ${current.videoId} continues`)
      return
    }

    const startedAt = new Date()
    const entry: LiveEntry = {
      keyName: key.name,
      videoId: `${key.name}-${timestamp(startedAt)}`.slice(0, 64),
      streamPath: session.streamPath,
      controller: new AbortController(),
      done: Promise.resolve(),
      publisherGone: new AbortController(),
      connected: true,
      sessionStarted: false,
      startedAt: startedAt.toISOString(),
      lastInBytes: 0,
    }
    entry.publisher = session
    byKey.set(key.name, entry)
    bySession.set(session.id, entry)
  })

  // Ingest bitrate of every connected broadcaster, from the bytes node-media-server has read.
  const bitrateSampler = setInterval(() => {
    for (const entry of byKey.values()) {
      const bytes = entry.connected ? (entry.publisher?.inBytes ?? 0) : entry.lastInBytes
      metrics.ingestBitrate.set({video: entry.videoId}, entry.connected ? ((bytes - entry.lastInBytes) * 8) / (BITRATE_SAMPLE_MS / 1000) : 0)
      entry.lastInBytes = bytes
    }
  }, BITRATE_SAMPLE_MS)
  bitrateSampler.unref()

  nms.on('postPublish', (session: NmsSession) => {
    const entry = bySession.get(session.id)
    if (!entry) return
    const socket = (session as unknown as {socket?: import('node:net').Socket}).socket
    socket?.once('close', () => {
      bySession.delete(session.id)
      entry.connected = false
      entry.graceTimer = setTimeout(() => entry.publisherGone.abort(), graceMs)
      entry.graceTimer.unref()
    })
    if (entry.sessionStarted) return
    entry.sessionStarted = true
    metrics.live.inc()
    options.log(`accepted a push with key ${entry.keyName} from ${session.ip} as video ${entry.videoId}`)
    entry.done = runLiveSession({
      videoId: entry.videoId,
      title: `${entry.keyName} live ${entry.startedAt}`,
      inputUrl: `rtmp://127.0.0.1:${options.rtmpPort}/live/${session.streamName}`,
      workDir: path.join(options.dataDir, 'live', entry.videoId),
      storage,
      catalog,
      rungs: options.rungs,
      segmentDurationSeconds: options.segmentDurationSeconds,
      dvrWindowSeconds: options.dvrWindowSeconds,
      preset: options.preset,
      log: options.log,
      // Wait through a reconnect grace period without giving up on the input.
      readTimeoutSeconds: graceMs / 1000 + 5,
      publisherGone: entry.publisherGone.signal,
      // Ends the pull with an end of stream, so ffmpeg writes its trailers (static MPD, ENDLIST).
      endInput: () => {
        const broadcast = context.broadcasts.get(entry.streamPath)
        for (const subscriber of broadcast?.subscribers.values() ?? []) subscriber.close()
      },
      metrics: {
        speed: (speed) => metrics.encoderSpeed.set({video: entry.videoId}, speed),
        segmentPublished: (lag) => metrics.publishLag.observe(lag),
        liveEdgeLag: (lag) => metrics.liveLatency.observe(Math.max(0, lag)),
      },
    }, entry.controller.signal).then(
      (result) => result,
      (error: unknown) => {
        options.log(`live ${entry.videoId} failed: ${(error as Error).message}`)
        return {videoId: entry.videoId, status: 'failed'}
      },
    ).then((result) => {
      clearTimeout(entry.graceTimer)
      byKey.delete(entry.keyName)
      for (const [id, candidate] of bySession) if (candidate === entry) bySession.delete(id)
      // Forget the finished broadcast, so the next push with this key is a new video.
      context.broadcasts.get(entry.streamPath)?._finishPublish?.()
      metrics.live.dec()
      metrics.encoderSpeed.remove({video: entry.videoId})
      metrics.ingestBitrate.remove({video: entry.videoId})
      for (const listener of endListeners) listener(result)
    })
  })
  const running = nms.run()
  const server = nms.rtmpServer.tcpServer
  if (!server) throw new ExternalError('The RTMP server did not start')
  // node-media-server exits the whole process when it cannot listen (a port already taken):
  // take that decision back before the error is emitted (on the next tick), and report it.
  server.removeAllListeners('error')
  const listening = server.listening
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
        server.once('listening', resolve)
        server.once('error', reject)
      })
  try {
    // Both at once: the listen error can come while node-media-server is still opening its store.
    await Promise.all([running, listening])
  } catch (error) {
    clearInterval(refresh)
    clearInterval(bitrateSampler)
    // Let node-media-server finish opening its store, or stop() would leave it open (and the process running).
    await running.catch(() => undefined)
    await nms.stop()
    await catalog.close()
    throw listenError(error, 'RTMP server', options.host, options.rtmpPort, '--rtmp-port')
  }

  // node-media-server's store answers SIGINT/SIGTERM by flushing and sending the signal to the
  // process again, which the command takes for a second Ctrl-C and exits without ending the live
  // streams. The store is closed by nms.stop() on every shutdown path instead.
  nms.store?._removeExitHooks?.()

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
      await nms.stop()
      await catalog.close()
      throw listenError(error, 'metrics server', options.host, options.metricsPort, '--metrics-port')
    }
  }

  return {
    rtmpUrl: `rtmp://${options.host}:${options.rtmpPort}/live`,
    metricsUrl: metricsServer ? `http://${options.host}:${options.metricsPort}/metrics` : undefined,
    metrics,
    streams: () => [...byKey.values()].map(({videoId, keyName, startedAt}) => ({videoId, keyName, startedAt})),
    onSessionEnd: (listener) => void endListeners.push(listener),
    close: async () => {
      clearInterval(refresh)
      clearInterval(bitrateSampler)
      const entries = [...byKey.values()]
      // End every stream as if its broadcaster had left: the encoders drain and write their final
      // manifests; whatever is still running after the grace is stopped.
      for (const entry of entries) {
        clearTimeout(entry.graceTimer)
        entry.publisherGone.abort()
      }

      const stopAll = setTimeout(() => {
        for (const entry of entries) entry.controller.abort()
      }, 15_000)
      await Promise.all(entries.map((entry) => entry.done))
      clearTimeout(stopAll)
      await nms.stop()
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()))
      await catalog.close()
    },
  }
}
