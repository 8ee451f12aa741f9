/**
 * What a live stream runs, built for its state machine (live-stream.ts): probe the broadcast,
 * plan the live ladder (never above the source), start the one ffmpeg that encodes and packages
 * it, and the publisher that puts its segments into storage. Nothing here decides anything about
 * the stream's life; it only starts things the state machine then owns.
 */
import path from 'node:path'

import {CancelledError, type ExternalError} from '../errors.js'
import {ensureDir} from '../files.js'
import {planLadder, type Rung} from '../media/ladder.js'
import {type DeinterlaceMode, planPicture} from '../media/picture.js'
import {decodedPicture, probeStream} from '../media/probe.js'
import {createProgressParser} from '../media/progress.js'
import {mediaTools} from '../media/tools.js'
import {INIT_SEGMENT_TEMPLATE, MEDIA_SEGMENT_TEMPLATE} from '../package/package-args.js'
import {runProcess} from '../process.js'
import type {Storage} from '../storage/storage.js'
import {LlStream} from '../origin/ll-stream.js'
import type {LlRegistry} from '../origin/registry.js'
import {withAvailabilityTimeOffset, withMinimumUpdatePeriod, withTimeShiftBuffer} from '../package/live-mpd.js'
import {partHoldBackSeconds} from '../package/ll-hls.js'
import {buildLiveArgs} from './live-args.js'
import {LivePublisher} from './live-publisher.js'
import type {EncoderHandle, LivePublishing} from './live-stream.js'
import {RealtimeMeter} from './realtime.js'

/** Media seconds per wall second below which the encoder is falling behind. */
const BEHIND_RATE = 0.9

export interface LiveStartOptions {
  videoId: string
  inputUrl: string
  workDir: string
  storage: Storage
  rungs: readonly Rung[]
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  preset: string
  /** Interlaced pushes: auto (the stream's field order), on or off. */
  deinterlace?: DeinterlaceMode
  /** Seconds without input before the pull gives up (longer than a reconnect grace). */
  readTimeoutSeconds?: number
  /** Low latency: the encoder writes chunks and this node's origin serves them as they appear. */
  lowLatency?: LowLatencyStart
  log: (line: string) => void
  metrics?: {
    speed?: (speed: number) => void
    segmentPublished?: (lagSeconds: number) => void
    liveEdgeLag?: (seconds: number) => void
  }
}

export interface LowLatencyStart {
  partSeconds: number
  /** The origin's public base URL (players reach it there). */
  originUrl: string
  registry: LlRegistry
}

/** How long an ended stream's low-latency playlists stay on the origin (players read the end). */
const LL_LINGER_MS = 60_000

/**
 * The part target of the playlists: the longest a chunk can be. ffmpeg closes a chunk at the first
 * frame at or after the part duration, so a chunk may run one video frame, or one AAC frame
 * (1024 samples at 48 kHz), longer.
 */
export function partTargetSeconds(partSeconds: number, frameRate: number): number {
  return Math.ceil((partSeconds + Math.max(1 / frameRate, 1024 / 48_000)) * 1000) / 1000
}

/** "ffmpeg exited with code 1: [mp4 @ 0x...] ... No space left on device": the reason, not just the code. */
function withLastStderrLine(error: Error): Error {
  const last = ((error as ExternalError).stderrTail ?? '').trim().split('\n').at(-1)?.replace(/^\[[^\]]*\]\s*/, '')
  return last ? new Error(`${error.message}: ${last}`, {cause: error}) : error
}

/** Probes the broadcast, then starts its encoder and publisher. */
export async function startLiveEncoding(options: LiveStartOptions, signal: AbortSignal): Promise<{encoder: EncoderHandle; publisher: LivePublishing; description: string}> {
  const {ffmpeg} = await mediaTools()
  await ensureDir(options.workDir)
  const source = await probeStream(options.inputUrl, {signal})
  const renditions = planLadder(source.video, options.rungs)
  const hasAudio = source.audio !== undefined
  const started = Date.now()
  const publisher = new LivePublisher({
    workDir: options.workDir,
    storage: options.storage,
    videoId: options.videoId,
    renditions,
    hasAudio,
    segmentDurationSeconds: options.segmentDurationSeconds,
    dvrWindowSeconds: options.dvrWindowSeconds,
    onSegmentPublished: (lag, segmentEnd) => {
      options.metrics?.segmentPublished?.(lag)
      options.metrics?.liveEdgeLag?.((Date.now() - started) / 1000 - segmentEnd)
    },
  })

  const partTarget = options.lowLatency ? partTargetSeconds(options.lowLatency.partSeconds, source.video.frameRate) : 0
  const lowLatencyOutput = options.lowLatency
    ? {
        partSeconds: options.lowLatency.partSeconds,
        // What a DASH player aims for: the same hold-back as an LL-HLS player, plus one part in flight.
        targetLatencySeconds: Math.round((partHoldBackSeconds(partTarget) + options.lowLatency.partSeconds) * 10) / 10,
        utcTimingUrl: `${options.lowLatency.originUrl.replace(/\/$/, '')}/clock`,
      }
    : undefined

  const meter = new RealtimeMeter()
  const stop = new AbortController()
  let behind = false
  const run = runProcess(ffmpeg, buildLiveArgs({
    inputUrl: options.inputUrl,
    renditions,
    hasAudio,
    frameRate: source.video.frameRate,
    segmentDurationSeconds: options.segmentDurationSeconds,
    preset: options.preset,
    sourcePicture: decodedPicture(source.video),
    ...(source.audio ? {audioChannels: source.audio.channels} : {}),
    // An interlaced camera (by the stream's field order, or --deinterlace on) and HDR are made ready
    // as for VOD; no look at the pictures (idet) and no frame-rate filter, which would add latency.
    picture: planPicture({picture: source.video, deinterlace: options.deinterlace ?? 'auto', segmentDurationSeconds: options.segmentDurationSeconds, reduceFrameRate: false, keepFrameTiming: true}),
    manifestPath: path.join(options.workDir, 'manifest.mpd'),
    recordingPath: path.join(options.workDir, 'recording.ts'),
    readTimeoutSeconds: options.readTimeoutSeconds,
    lowLatency: lowLatencyOutput,
  }), {
    signal: AbortSignal.any([signal, stop.signal]),
    onStdoutLine: createProgressParser((progress) => {
      if (progress.outTimeSeconds === undefined) return
      const rate = meter.record(progress.outTimeSeconds)
      if (rate === undefined) return
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
  if (options.lowLatency) {
    const {registry, partSeconds} = options.lowLatency
    const ll = new LlStream({
      videoId: options.videoId,
      workDir: options.workDir,
      tracks: publisher.playlists.map((playlist, id) => ({
        playlist,
        initUri: INIT_SEGMENT_TEMPLATE.replace('$RepresentationID$', String(id)),
        segmentUri: (number: number) => MEDIA_SEGMENT_TEMPLATE.replace('$RepresentationID$', String(id)).replace('$Number%05d$', String(number).padStart(5, '0')),
      })),
      segmentDurationSeconds: options.segmentDurationSeconds,
      partTargetSeconds: partTarget,
      windowSeconds: options.dvrWindowSeconds,
      master: () => publisher.masterPlaylist(),
      // Reloaded every part (at least every 0.5 s): with a SegmentTimeline, a reload is how a player learns a segment began.
      mpd: (text) => withMinimumUpdatePeriod(withAvailabilityTimeOffset(withTimeShiftBuffer(text, options.dvrWindowSeconds), options.segmentDurationSeconds - partSeconds), Math.max(0.5, partSeconds)),
    })
    registry.add(options.videoId, ll)
    ll.start()
    // The origin follows the encoder: when it exits, the playlists end; a minute later the origin forgets the stream.
    void run.then(() => undefined, () => undefined).then(() => ll.end()).then(() => {
      setTimeout(() => registry.remove(options.videoId, ll), LL_LINGER_MS).unref()
    })
  }

  const encoder: EncoderHandle = {
    // Stopped on request (SIGINT, so it writes its trailers) is a clean end; a failure says its last word.
    exited: run.then(() => undefined, (error: unknown) => (error instanceof CancelledError ? undefined : withLastStderrLine(error as Error))),
    lastAdvanceMs: () => meter.lastAdvanceMs,
    stop: () => stop.abort(),
  }
  const description = `${renditions.map((rendition) => `${rendition.name} ${rendition.width}x${rendition.pixelHeight}`).join(', ')}${hasAudio ? ' + audio' : ''} from ${source.video.width}x${source.video.height}`
  return {encoder, publisher, description}
}
