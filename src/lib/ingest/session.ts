/**
 * One accepted broadcast: probe it, plan the live ladder (never above the source), run the one
 * ffmpeg that encodes and packages it, publish segments as they complete, and when the
 * broadcaster leaves, end the playlists and keep the whole stream as a VOD.
 */
import path from 'node:path'

import type {Catalog} from '../catalog/connection.js'
import {upsertVideo} from '../catalog/videos.js'
import {CancelledError} from '../errors.js'
import {ensureDir} from '../files.js'
import {planLadder, type Rung} from '../media/ladder.js'
import {decodedPicture, probeStream} from '../media/probe.js'
import {createProgressParser} from '../media/progress.js'
import {mediaTools} from '../media/tools.js'
import {runProcess} from '../process.js'
import type {Storage} from '../storage/storage.js'
import {buildLiveArgs} from './live-args.js'
import {LivePublisher} from './live-publisher.js'
import {RealtimeMeter} from './realtime.js'

/** Encoder idle this long after the broadcaster left: everything received has been encoded. */
const DRAIN_IDLE_MS = 1500
/** How long ffmpeg gets to finish after its input ended. */
const END_GRACE_MS = 10_000
/** Media seconds per wall second below which the encoder is falling behind. */
const BEHIND_RATE = 0.9

export interface LiveSessionOptions {
  videoId: string
  title: string
  inputUrl: string
  workDir: string
  storage: Storage
  catalog: Catalog
  rungs: readonly Rung[]
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  preset: string
  /** How often to look for new segments. */
  pollMs?: number
  log: (line: string) => void
  /** Seconds without input before the pull gives up. */
  readTimeoutSeconds?: number
  /** Aborted when the broadcaster has gone for good: the encoder is stopped once it has drained. */
  publisherGone?: AbortSignal
  /** Ends the encoder's input cleanly (an end of stream), so it writes its final manifests. */
  endInput?: () => void
  metrics?: {
    speed?: (speed: number) => void
    segmentPublished?: (lagSeconds: number) => void
    liveEdgeLag?: (seconds: number) => void
  }
}

export interface LiveSessionResult {
  videoId: string
  status: 'ended' | 'failed'
  durationSeconds: number
  segments: number
}

/** Runs a live session to its end (the broadcaster leaves, or `signal` aborts). */
export async function runLiveSession(options: LiveSessionOptions, signal: AbortSignal): Promise<LiveSessionResult> {
  const {ffmpeg} = await mediaTools()
  await ensureDir(options.workDir)
  const source = await probeStream(options.inputUrl, {signal})
  const renditions = planLadder(source.video, options.rungs)
  const hasAudio = source.audio !== undefined
  const started = Date.now()
  const publisher = new LivePublisher({
    workDir: options.workDir,
    storage: options.storage,
    catalog: options.catalog,
    videoId: options.videoId,
    title: options.title,
    renditions,
    hasAudio,
    segmentDurationSeconds: options.segmentDurationSeconds,
    dvrWindowSeconds: options.dvrWindowSeconds,
    onSegmentPublished: (lag, segmentEnd) => {
      options.metrics?.segmentPublished?.(lag)
      options.metrics?.liveEdgeLag?.((Date.now() - started) / 1000 - segmentEnd)
    },
  })
  await upsertVideo(options.catalog, {id: options.videoId, title: options.title, status: 'live', packageLocation: publisher.packageLocation})
  options.log(`live ${options.videoId}: ${renditions.map((rendition) => `${rendition.name} ${rendition.width}x${rendition.pixelHeight}`).join(', ')}${hasAudio ? ' + audio' : ''} from ${source.video.width}x${source.video.height}`)

  // The broadcaster left: let the encoder drain what it has, then stop it (SIGINT writes the final manifests).
  const stop = new AbortController()
  const meter = new RealtimeMeter()
  let behind = false
  options.publisherGone?.addEventListener('abort', () => {
    const check = setInterval(() => {
      if (Date.now() - meter.lastAdvanceMs > DRAIN_IDLE_MS) {
        clearInterval(check)
        options.endInput?.()
        // If the end of stream does not reach it, stop it the hard way.
        setTimeout(() => stop.abort(), END_GRACE_MS).unref()
      }
    }, 100)
    signal.addEventListener('abort', () => clearInterval(check), {once: true})
  }, {once: true})

  const encoder = runProcess(ffmpeg, buildLiveArgs({
    inputUrl: options.inputUrl,
    renditions,
    hasAudio,
    frameRate: source.video.frameRate,
    segmentDurationSeconds: options.segmentDurationSeconds,
    preset: options.preset,
    sourcePicture: decodedPicture(source.video),
    manifestPath: path.join(options.workDir, 'manifest.mpd'),
    recordingPath: path.join(options.workDir, 'recording.ts'),
    readTimeoutSeconds: options.readTimeoutSeconds,
  }), {
    signal: AbortSignal.any([signal, stop.signal]),
    onStdoutLine: createProgressParser((progress) => {
      if (progress.outTimeSeconds === undefined) return
      const rate = meter.record(progress.outTimeSeconds)
      if (rate === undefined || options.publisherGone?.aborted) return
      options.metrics?.speed?.(rate)
      if (rate < BEHIND_RATE && !behind) {
        behind = true
        options.log(`live ${options.videoId}: the encoder is falling behind real time (${rate.toFixed(2)}x over the last 5 s); use a faster --preset or a smaller --live-ladder`)
      } else if (rate >= 0.98 && behind) {
        behind = false
        options.log(`live ${options.videoId}: the encoder keeps up with real time again (${rate.toFixed(2)}x)`)
      }
    }),
  })

  let running = true
  const finished = encoder.then(() => undefined, (error: unknown) => error).finally(() => {
    running = false
  })
  const pollMs = options.pollMs ?? 200
  while (running) {
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, pollMs))])
    if (running) await publisher.sync(false)
  }

  const error = await finished
  // Stopped on request (SIGINT to ffmpeg writes its trailer) or the broadcaster left: both end the stream cleanly.
  const cleanEnd = error === undefined || error instanceof CancelledError
  if (!cleanEnd) options.log(`live ${options.videoId}: the encoder failed: ${(error as Error).message}`)
  await publisher.sync(true)
  const manifest = publisher.manifest(true)
  const hasMedia = manifest.renditions.some((track) => track.segments.length > 0)
  if (!hasMedia) await upsertVideo(options.catalog, {id: options.videoId, title: options.title, status: 'failed', packageLocation: publisher.packageLocation})
  const status = hasMedia ? 'ended' : 'failed'
  options.log(`live ${options.videoId}: ${status}, ${manifest.durationSeconds.toFixed(1)} s kept as VOD at ${publisher.packageLocation}`)
  return {videoId: options.videoId, status, durationSeconds: manifest.durationSeconds, segments: manifest.renditions[0]?.segments.length ?? 0}
}
