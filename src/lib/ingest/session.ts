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
import {decodedPicture, probeStream} from '../media/probe.js'
import {createProgressParser} from '../media/progress.js'
import {mediaTools} from '../media/tools.js'
import {runProcess} from '../process.js'
import type {Storage} from '../storage/storage.js'
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
  /** Seconds without input before the pull gives up (longer than a reconnect grace). */
  readTimeoutSeconds?: number
  log: (line: string) => void
  metrics?: {
    speed?: (speed: number) => void
    segmentPublished?: (lagSeconds: number) => void
    liveEdgeLag?: (seconds: number) => void
  }
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
    manifestPath: path.join(options.workDir, 'manifest.mpd'),
    recordingPath: path.join(options.workDir, 'recording.ts'),
    readTimeoutSeconds: options.readTimeoutSeconds,
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
  const encoder: EncoderHandle = {
    // Stopped on request (SIGINT, so it writes its trailers) is a clean end; a failure says its last word.
    exited: run.then(() => undefined, (error: unknown) => (error instanceof CancelledError ? undefined : withLastStderrLine(error as Error))),
    lastAdvanceMs: () => meter.lastAdvanceMs,
    stop: () => stop.abort(),
  }
  const description = `${renditions.map((rendition) => `${rendition.name} ${rendition.width}x${rendition.pixelHeight}`).join(', ')}${hasAudio ? ' + audio' : ''} from ${source.video.width}x${source.video.height}`
  return {encoder, publisher, description}
}
