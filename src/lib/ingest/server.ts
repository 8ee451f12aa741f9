/**
 * `startIngestServer`: an RTMP server (node-media-server) that accepts pushes to
 * rtmp://HOST:PORT/live/KEY with an active stream key and turns each into a live session.
 * A refused push gets nothing: no recording, no transcode, no catalog entry (node-media-server's
 * own events still fire for it, so every handler checks the session was accepted).
 */
import {createRequire} from 'node:module'
import path from 'node:path'

import type {NmsSession} from 'node-media-server'

import {openCatalog} from '../catalog/connection.js'
import type {CatalogOptions} from '../catalog/service.js'
import {ExternalError} from '../errors.js'
import type {Rung} from '../media/ladder.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import {hashStreamKey, loadActiveKeys} from './keys.js'
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
  log: (line: string) => void
}

export interface LiveStreamInfo {
  videoId: string
  keyName: string
  startedAt: string
}

export interface RunningIngest {
  rtmpUrl: string
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
  const logger = require('node-media-server/src/core/logger.js') as {level: string}
  const context = require('node-media-server/src/core/context.js') as {broadcasts: Map<string, {subscribers: Map<string, {close(): void}>; _finishPublish?: () => void}>}
  const nms = new NodeMediaServer({
    bind: options.host,
    rtmp: {port: options.rtmpPort, chunk_size: 60_000, gop_cache: true, ping: 30, ping_timeout: 60},
    store: {path: path.join(options.dataDir, 'ingest-state')},
  })
  logger.level = 'error'

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
    const key = keys.get(hashStreamKey(session.streamName))
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
  await nms.run()
  const server = nms.rtmpServer.tcpServer
  if (!server) throw new ExternalError('The RTMP server did not start')
  if (!server.listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
  }

  return {
    rtmpUrl: `rtmp://${options.host}:${options.rtmpPort}/live`,
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
      await catalog.close()
    },
  }
}
