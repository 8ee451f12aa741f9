/**
 * The live stream of one broadcast, wired to this ingest node: its encoder pulls the push from the
 * node's own RTMP server, its segments go to the node's storage, its status to the catalog (under
 * this node's id, with the low-latency origin's URL when there is one), its numbers to the metrics.
 */
import path from 'node:path'

import {type Catalog, isSchemaMissingError} from '../catalog/connection.js'
import {upsertVideo} from '../catalog/videos.js'
import type {Rung} from '../media/ladder.js'
import type {DeinterlaceMode} from '../media/picture.js'
import type {LlRegistry} from '../origin/registry.js'
import {packageLocation, type Storage} from '../storage/storage.js'
import type {BroadcastIdentity} from './broadcasts.js'
import {LiveStream} from './live-stream.js'
import type {IngestMetrics} from './metrics.js'
import type {RtmpPush} from './rtmp-adapter.js'
import {startLiveEncoding} from './session.js'

export interface BroadcastStreamContext {
  /** This ingest node's name in the catalog. */
  nodeId: string
  rtmpPort: number
  dataDir: string
  rungs: readonly Rung[]
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  preset: string
  deinterlace?: DeinterlaceMode
  reconnectGraceMs: number
  storageOutageLimitMs: number
  catalog: Catalog
  storage: Storage
  metrics: IngestMetrics
  /** This node's low-latency origin, when low latency is on. */
  origin?: {url: string; partSeconds: number; registry: LlRegistry}
  log: (line: string) => void
}

export function createBroadcastStream(context: BroadcastStreamContext, broadcast: BroadcastIdentity, push: RtmpPush): LiveStream {
  const {videoId} = broadcast
  const {catalog, metrics, origin} = context
  const title = `${broadcast.keyName} live ${broadcast.startedAt.toISOString()}`
  return new LiveStream({
    videoId,
    packageLocation: packageLocation(context.storage, videoId),
    reconnectGraceMs: context.reconnectGraceMs,
    storageOutageLimitMs: context.storageOutageLimitMs,
  }, {
    start: (signal) => startLiveEncoding({
      videoId,
      inputUrl: `rtmp://127.0.0.1:${context.rtmpPort}${broadcast.streamPath}`,
      workDir: path.join(context.dataDir, 'live', videoId),
      storage: context.storage,
      rungs: context.rungs,
      segmentDurationSeconds: context.segmentDurationSeconds,
      dvrWindowSeconds: context.dvrWindowSeconds,
      preset: context.preset,
      ...(context.deinterlace ? {deinterlace: context.deinterlace} : {}),
      // Wait through a reconnect grace period without giving up on the input.
      readTimeoutSeconds: context.reconnectGraceMs / 1000 + 5,
      lowLatency: origin ? {partSeconds: origin.partSeconds, originUrl: origin.url, registry: origin.registry} : undefined,
      log: context.log,
      metrics: {
        speed: (speed) => metrics.encoderSpeed.set({video: videoId}, speed),
        segmentPublished: (lag) => metrics.publishLag.observe(lag),
        liveEdgeLag: (lag) => metrics.liveLatency.observe(Math.max(0, lag)),
      },
    }, signal),
    endInput: () => push.endPulls(),
    writeStatus: (update) => upsertVideo(catalog, {
      id: videoId,
      title,
      status: update.status,
      packageLocation: update.packageLocation,
      manifest: update.manifest,
      statusReason: update.reason,
      ingestNode: context.nodeId,
      liveOriginUrl: origin ? `${origin.url}/live/${videoId}` : undefined,
    }).then(() => undefined, (error: unknown) => {
      // A catalog whose tables went away (dropped, re-created empty) is migrated again; the stream retries the write.
      if (isSchemaMissingError(error)) void catalog.repair()
      throw error
    }),
    log: context.log,
  })
}
