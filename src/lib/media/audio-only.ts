/**
 * Audio-only sources (a podcast, a radio show, a talk's audio): one stereo 48 kHz AAC-LC
 * rendition instead of a video ladder, recorded in renditions.json with `hasVideo: false`, no
 * video renditions and the audio in `audioRendition`. `transcodeLadder` branches here right after
 * probing. The ladder, rate control, preset and chunking are video settings: they do not apply
 * and are ignored (chunking, the one asked for explicitly, leaves a warning).
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {assertReplaceableDir, commitStagingDir, createStagingDir, removeQuietly, writeJsonAtomic} from '../files.js'
import {runProcess} from '../process.js'
import {buildAudioArgs} from './chunks.js'
import {AAC_LC_CODEC} from './codecs.js'
import {type AudioOnlySourceFacts, isAudioOnly, probeMedia} from './probe.js'
import {createProgressParser, progressFraction} from './progress.js'
import {DEFAULT_RATE_CONTROL} from './rate-control.js'
import {type AudioRendition, RENDITIONS_FILE, type RenditionsManifest} from './renditions.js'
import {mediaTools} from './tools.js'
import type {TranscodeDryRun, TranscodeOptions} from './transcode-options.js'
import {truncationWarning} from './truncation.js'

/** The standard ladder's audio rate: a podcast sounds as the same talk's video would. */
export const AUDIO_ONLY_BITRATE_KBPS = 128
export const AUDIO_ONLY_FILE = 'audio.m4a'

/** The one rendition of an audio-only source, in renditions.json's `audioRendition`. */

/** The argv: the first audio stream (cover art dropped), 5.1 downmixed and mono upmixed to stereo 48 kHz, AAC-LC. */
export function buildAudioOnlyArgs(input: string, outputDir: string, channels?: number): string[] {
  return buildAudioArgs(input, AUDIO_ONLY_BITRATE_KBPS, path.join(outputDir, AUDIO_ONLY_FILE), channels)
}

/**
 * `transcode` for an audio-only source: the options as transcodeLadder resolved them (absolute
 * paths, a valid segment duration, which `segment` uses as its default).
 */
export async function transcodeAudioOnly(options: TranscodeOptions, source: AudioOnlySourceFacts): Promise<RenditionsManifest | TranscodeDryRun> {
  const input = path.resolve(options.input)
  const outputDir = path.resolve(options.outputDir)
  const {ffmpeg} = await mediaTools()
  if (options.dryRun) {
    return {
      dryRun: true, source, outputDir, hasVideo: false, plan: [],
      rateControl: options.rateControl ?? DEFAULT_RATE_CONTROL,
      command: [ffmpeg, ...buildAudioOnlyArgs(input, outputDir, source.audio.channels)],
    }
  }

  const warnings = options.chunkSeconds === undefined ? [] : [`${path.basename(input)} has no video: --chunk-seconds does not apply, its audio was encoded in one piece.`]
  await assertReplaceableDir(outputDir, RENDITIONS_FILE)
  const staging = await createStagingDir(outputDir)
  try {
    await runProcess(ffmpeg, buildAudioOnlyArgs(input, staging, source.audio.channels), {
      signal: options.signal,
      onStdoutLine: createProgressParser((progress) =>
        options.onProgress?.({fraction: progressFraction(progress, source.durationSeconds), speed: progress.speed, outTimeSeconds: progress.outTimeSeconds}),
      ),
    })
    const audioRendition = await describeAudioRendition(staging, options.signal)
    const truncated = truncationWarning(input, source.durationSeconds, audioRendition.durationSeconds)
    if (truncated) warnings.push(truncated)
    const manifest: RenditionsManifest = {
      version: 1,
      createdAt: new Date().toISOString(),
      source,
      segmentDurationSeconds: options.segmentDurationSeconds,
      hasAudio: true,
      hasVideo: false,
      renditions: [],
      audioRendition,
      ...(warnings.length > 0 ? {warnings} : {}),
    }
    await writeJsonAtomic(path.join(staging, RENDITIONS_FILE), manifest)
    await commitStagingDir(staging, outputDir)
    return manifest
  } catch (error) {
    await removeQuietly(staging)
    throw error
  }
}

async function describeAudioRendition(dir: string, signal?: AbortSignal): Promise<AudioRendition> {
  const file = path.join(dir, AUDIO_ONLY_FILE)
  const facts = await probeMedia(file, {signal})
  if (!isAudioOnly(facts)) throw new Error(`${file}: the audio rendition holds video`)
  return {
    name: 'audio',
    bitrateKbps: AUDIO_ONLY_BITRATE_KBPS,
    codecs: AAC_LC_CODEC,
    channels: facts.audio.channels,
    sampleRate: facts.audio.sampleRate,
    durationSeconds: facts.durationSeconds ?? 0,
    file: AUDIO_ONLY_FILE,
    sizeBytes: (await stat(file)).size,
  }
}
