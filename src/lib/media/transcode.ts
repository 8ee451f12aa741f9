/**
 * `transcodeLadder`: one source into a ladder of H.264/AAC MP4 renditions in one ffmpeg process,
 * written to a staging directory and moved into place only when complete.
 */
import {stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {UserError} from '../errors.js'
import {assertReplaceableDir, commitStagingDir, createStagingDir, ensureDir, removeQuietly, writeJsonAtomic} from '../files.js'
import {runProcess} from '../process.js'
import {buildAudioArgs, buildChunkArgs, buildJoinArgs, type ChunkEncoder, chunkPrerollSeconds, type ChunkPlan, type ChunkTask, concatList, planChunks} from './chunks.js'
import {AAC_LC_CODEC, avcCodecString} from './codecs.js'
import {planLadder, type PlannedRendition} from './ladder.js'
import {transcodeAudioOnly} from './audio-only.js'
import {decodedPicture, isAudioOnly, probeMedia, probeSource, type SourceFacts} from './probe.js'
import {type PicturePlan, planPicture} from './picture.js'
import {validatePreset} from './encoder-settings.js'
import {type Rendition, RENDITIONS_FILE, type RenditionsManifest} from './renditions.js'
import {truncationWarning} from './truncation.js'
import {analyseSource} from './source-analysis.js'
import {createProgressParser, progressFraction} from './progress.js'
import {measureVideoBitrates} from './bitrate.js'
import {runComplexityProbe} from './complexity-probe.js'
import type {RungRateControl} from './ffmpeg-fragments.js'
import {type ComplexityProbe, DEFAULT_RATE_CONTROL, planRates} from './rate-control.js'
import {buildTranscodeArgs, gopFrames} from './transcode-args.js'
import {mediaTools} from './tools.js'
import type {TranscodeDryRun, TranscodeOptions, TranscodeProgress} from './transcode-options.js'

export function validateSegmentDuration(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds < 0.5 || seconds > 20) {
    throw new UserError(`Segment duration must be between 0.5 and 20 seconds (got ${seconds})`)
  }

  return seconds
}

/**
 * Segments must hold a whole number of frames, or their boundaries drift off the frames and
 * `segment` finds no keyframe at one of them: 0.5 s at 25 fps is 12.5 frames. Refused here, with
 * the nearest durations that work.
 */
export function assertWholeFrames(segmentDurationSeconds: number, frameRate: number): void {
  if (!(frameRate > 0 && frameRate <= 240)) return
  const frames = segmentDurationSeconds * frameRate
  if (Math.abs(frames - Math.round(frames)) < 1e-3) return
  const format = (count: number) => `${Number((count / frameRate).toFixed(6))} s (${count} frames)`
  const nearest = [Math.floor(frames), Math.ceil(frames)].filter((count) => count >= 1).map(format)
  throw new UserError(`A segment of ${segmentDurationSeconds} s is ${Number(frames.toFixed(3))} frames at the source's ${Number(frameRate.toFixed(3))} fps: segments must hold a whole number of frames`, {
    hint: `Use --segment-duration ${nearest.join(' or ')}.`,
  })
}

export async function transcodeLadder(options: TranscodeOptions & {dryRun: true}): Promise<TranscodeDryRun>
export async function transcodeLadder(options: TranscodeOptions): Promise<RenditionsManifest | TranscodeDryRun>
export async function transcodeLadder(options: TranscodeOptions): Promise<RenditionsManifest | TranscodeDryRun> {
  const segmentDurationSeconds = validateSegmentDuration(options.segmentDurationSeconds)
  const preset = validatePreset(options.preset)
  const input = path.resolve(options.input)
  const outputDir = path.resolve(options.outputDir)

  const source = await probeMedia(input, {signal: options.signal})
  if (isAudioOnly(source)) return transcodeAudioOnly({...options, input, outputDir, segmentDurationSeconds}, source)
  assertWholeFrames(segmentDurationSeconds, source.video.frameRate)
  const plan = planLadder(source.video, options.rungs)
  const hasAudio = source.audio !== undefined
  const {ffmpeg, ffprobe} = await mediaTools()
  const deinterlace = options.deinterlace ?? 'auto'
  const analysis = await analyseSource({ffmpeg, ffprobe, input, durationSeconds: source.durationSeconds, fieldOrder: source.video.fieldOrder, deinterlace, signal: options.signal})
  const picture = planPicture({picture: source.video, deinterlace, analysis, segmentDurationSeconds})

  const rateControl = options.rateControl ?? DEFAULT_RATE_CONTROL
  const argsFor = (dir: string, rates: readonly RungRateControl[]) =>
    buildTranscodeArgs({
      input,
      renditions: plan,
      outputs: plan.map((rendition) => path.join(dir, `${rendition.name}.mp4`)),
      hasAudio,
      frameRate: source.video.frameRate,
      segmentDurationSeconds,
      preset,
      sourcePicture: decodedPicture(source.video),
      rates,
      picture,
      ...(source.audio ? {audioChannels: source.audio.channels} : {}),
    })

  if (options.dryRun) {
    const rates = planRates(rateControl === 'per-title' ? 'capped-crf' : rateControl, plan, {segmentDurationSeconds, preset})
    return {dryRun: true, source, outputDir, plan, rateControl, picture, command: [ffmpeg, ...argsFor(outputDir, rates)]}
  }

  await assertReplaceableDir(outputDir, RENDITIONS_FILE)
  const staging = await createStagingDir(outputDir)
  try {
    const onProgressLine = createProgressParser((progress) => {
      options.onProgress?.({
        fraction: progressFraction(progress, source.durationSeconds),
        speed: progress.speed,
        outTimeSeconds: progress.outTimeSeconds,
      })
    })
    let complexityProbe: ComplexityProbe | undefined
    const warnings: string[] = []
    if (rateControl === 'per-title' && !((source.durationSeconds ?? 0) >= 0.5)) {
      warnings.push(`${path.basename(input)}: its duration is unknown or under half a second, so per-title had nothing to probe: each rung used capped-crf's quality.`)
    } else if (rateControl === 'per-title' && picture.canvas) {
      // The probe joins stretches of the raw source, which cannot be joined when their sizes differ.
      warnings.push(`${path.basename(input)}: its picture size changes part-way, so per-title had nothing it could probe: each rung used capped-crf's quality.`)
    } else if (rateControl === 'per-title') {
      complexityProbe = await runComplexityProbe({
        ffmpeg,
        input,
        source: {durationSeconds: source.durationSeconds ?? 0, ...decodedPicture(source.video)},
        preset,
        frameRate: source.video.frameRate,
        segmentDurationSeconds,
        workDir: staging,
        signal: options.signal,
      })
    }

    const rates = planRates(complexityProbe || rateControl !== 'per-title' ? rateControl : 'capped-crf', plan, {segmentDurationSeconds, preset, probe: complexityProbe})
    const chunks = options.chunkSeconds === undefined ? undefined : planChunks({
      durationSeconds: requireDuration(source),
      frameRate: source.video.frameRate,
      chunkSeconds: options.chunkSeconds,
      segmentDurationSeconds,
      prerollSeconds: chunkPrerollSeconds(rates, segmentDurationSeconds),
    })
    if (chunks && chunks.length > 1) {
      await encodeInChunks({ffmpeg, input, plan, rates, picture, chunks, staging, hasAudio, source, segmentDurationSeconds, preset, encoder: options.chunkEncoder, shared: options.chunkShared, signal: options.signal, onProgress: options.onProgress})
    } else {
      await runProcess(ffmpeg, argsFor(staging, rates), {signal: options.signal, onStdoutLine: onProgressLine})
    }

    const renditions = await Promise.all(plan.map((planned, index) => describeRendition(staging, planned, rates[index] as RungRateControl, hasAudio, segmentDurationSeconds, options.signal)))
    const truncated = truncationWarning(input, source.durationSeconds, Math.max(...renditions.map((rendition) => rendition.durationSeconds)))
    const manifest: RenditionsManifest = {
      version: 1,
      createdAt: new Date().toISOString(),
      source,
      segmentDurationSeconds,
      // The top rungs' GOP; a reduced-rate rung (picture.reducedFrameRate) has half as many frames in the same time.
      gopFrames: gopFrames(source.video.frameRate, segmentDurationSeconds),
      preset,
      hasAudio,
      rateControl,
      picture,
      ...(complexityProbe ? {complexityProbe} : {}),
      renditions,
      ...(truncated || warnings.length > 0 ? {warnings: [...warnings, ...(truncated ? [truncated] : [])]} : {}),
    }
    await writeJsonAtomic(path.join(staging, RENDITIONS_FILE), manifest)
    await commitStagingDir(staging, outputDir)
    return manifest
  } catch (error) {
    await removeQuietly(staging)
    throw error
  }
}

function requireDuration(source: SourceFacts): number {
  if (source.durationSeconds === undefined || !(source.durationSeconds > 0)) {
    throw new UserError(`${source.path}: its duration is unknown, so it cannot be cut into chunks`, {hint: 'Remux it into MP4 or MKV first, or transcode without --chunk-seconds.'})
  }

  return source.durationSeconds
}

interface ChunkedEncode {
  ffmpeg: string
  input: string
  plan: readonly PlannedRendition[]
  rates: readonly RungRateControl[]
  picture: PicturePlan
  chunks: readonly ChunkPlan[]
  staging: string
  hasAudio: boolean
  source: SourceFacts
  segmentDurationSeconds: number
  preset: string
  encoder?: ChunkEncoder
  shared?: ChunkTask['shared']
  signal?: AbortSignal
  onProgress?: (progress: TranscodeProgress) => void
}

/** The ladder chunk by chunk, the audio once, then each rung's chunks joined with the audio (chunks.ts). */
async function encodeInChunks(job: ChunkedEncode): Promise<void> {
  const chunkDir = path.join(job.staging, 'chunks')
  await ensureDir(chunkDir)
  const total = requireDuration(job.source)
  const frameRate = job.source.video.frameRate
  // Video is most of the work: chunks take 95 % of the progress, audio and joins the rest.
  const tasks: ChunkTask[] = job.chunks.map((chunk) => ({
    key: path.basename(job.staging),
    input: job.input,
    renditions: job.plan,
    outputs: job.plan.map((rendition) => path.join(chunkDir, `${String(chunk.index).padStart(5, '0')}-${rendition.name}.mp4`)),
    chunk,
    frameRate,
    segmentDurationSeconds: job.segmentDurationSeconds,
    preset: job.preset,
    sourcePicture: decodedPicture(job.source.video),
    rates: job.rates,
    picture: job.picture,
    ...(job.encoder && job.shared ? {shared: job.shared} : {}),
  }))
  const secondsOf = (chunk: ChunkPlan) => (chunk.frames === undefined ? total - chunk.startSeconds : chunk.frames / frameRate)
  // The audio of the whole file, once, beside the video chunks (it costs a fraction of a core).
  const audioFiles = new Map<number, string>()
  const stopAudio = new AbortController()
  const audioSignal = job.signal ? AbortSignal.any([job.signal, stopAudio.signal]) : stopAudio.signal
  const audioDone = (async () => {
    if (!job.hasAudio) return
    for (const kbps of new Set(job.plan.map((rendition) => rendition.audioBitrateKbps ?? 128))) {
      const file = path.join(chunkDir, `audio-${kbps}k.m4a`)
      await runProcess(job.ffmpeg, buildAudioArgs(job.input, kbps, file, job.source.audio?.channels), {signal: audioSignal})
      audioFiles.set(kbps, file)
    }
  })()
  // Awaited below; a failure there must not go unhandled while the chunks run.
  audioDone.catch(() => undefined)
  try {
    await encodeChunkVideo(job, tasks, secondsOf, total)
  } catch (error) {
    // No audio encoder left writing into a staging folder that is about to be removed.
    stopAudio.abort()
    await audioDone.catch(() => undefined)
    throw error
  }

  const chunkFiles = job.plan.map((_, index) => tasks.map((task) => task.outputs[index] as string))
  await audioDone

  for (const [index, rendition] of job.plan.entries()) {
    const list = path.join(chunkDir, `${rendition.name}.txt`)
    await writeFile(list, concatList(chunkFiles[index] ?? [], tasks.map((task) => task.chunk.prerollFrames / frameRate)))
    await runProcess(job.ffmpeg, buildJoinArgs(list, job.hasAudio ? audioFiles.get(rendition.audioBitrateKbps ?? 128) : undefined, path.join(job.staging, `${rendition.name}.mp4`)), {signal: job.signal})
    job.onProgress?.({fraction: 0.95 + (0.05 * (index + 1)) / job.plan.length})
  }

  await removeQuietly(chunkDir)
}

/** The chunks' video: on the encoder given (queue workers, all at once), else here one after another. */
async function encodeChunkVideo(job: ChunkedEncode, tasks: readonly ChunkTask[], secondsOf: (chunk: ChunkPlan) => number, total: number): Promise<void> {
  let doneSeconds = 0
  if (job.encoder) {
    // Elsewhere (queue workers): all at once; progress as chunks complete.
    const encoder = job.encoder
    await Promise.all(tasks.map(async (task) => {
      await encoder(task, job.signal)
      doneSeconds += secondsOf(task.chunk)
      job.onProgress?.({fraction: (0.95 * doneSeconds) / total})
    }))
  } else {
    for (const task of tasks) {
      const chunkSeconds = secondsOf(task.chunk)
      const prerollSeconds = task.chunk.prerollFrames / job.source.video.frameRate
      await runProcess(job.ffmpeg, buildChunkArgs(task), {
        signal: job.signal,
        onStdoutLine: createProgressParser((progress) => {
          const within = Math.min(Math.max(0, (progress.outTimeSeconds ?? 0) - prerollSeconds), chunkSeconds)
          job.onProgress?.({fraction: (0.95 * (doneSeconds + within)) / total, speed: progress.speed, outTimeSeconds: task.chunk.startSeconds + within})
        }),
      })
      doneSeconds += chunkSeconds
    }
  }
}

async function describeRendition(dir: string, planned: PlannedRendition, rateControl: RungRateControl, hasAudio: boolean, segmentDurationSeconds: number, signal?: AbortSignal): Promise<Rendition> {
  const file = `${planned.name}.mp4`
  const facts = await probeSource(path.join(dir, file), {signal})
  const {ffprobe} = await mediaTools()
  const measuredVideo = await measureVideoBitrates(ffprobe, path.join(dir, file), facts.durationSeconds ?? 0, signal, segmentDurationSeconds)
  const videoCodec = avcCodecString(facts.video.profile, facts.video.level)
  const audioCodec = hasAudio ? AAC_LC_CODEC : undefined
  return {
    name: planned.name,
    // Coded size: what RESOLUTION and @width/@height mean (the SAR keeps the display aspect exact).
    width: facts.video.width,
    height: facts.video.height,
    videoBitrateKbps: planned.videoBitrateKbps,
    maxRateKbps: planned.maxRateKbps,
    bufferSizeKbps: planned.bufferSizeKbps,
    audioBitrateKbps: hasAudio ? planned.audioBitrateKbps : undefined,
    profile: planned.profile,
    videoCodec,
    audioCodec,
    codecs: audioCodec ? `${videoCodec},${audioCodec}` : videoCodec,
    frameRate: facts.video.frameRate,
    durationSeconds: facts.durationSeconds ?? 0,
    file,
    sizeBytes: (await stat(path.join(dir, file))).size,
    rateControl,
    measuredVideo,
  }
}
