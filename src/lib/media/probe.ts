/**
 * ffprobe: the facts about a source that ladder planning and progress need, and the checks that
 * turn unusable inputs (missing, empty, not media, no video) into clear user errors before any
 * output exists.
 */
import {stat} from 'node:fs/promises'

import {ExternalError, UserError} from '../errors.js'
import {runProcess} from '../process.js'
import {mediaTools} from './tools.js'

export interface VideoFacts {
  codec: string
  /** Coded size, as stored. */
  width: number
  height: number
  /** Size as shown: sample aspect ratio applied and rotation metadata honoured (ffmpeg autorotates). */
  displayWidth: number
  displayHeight: number
  /** Degrees clockwise the picture is turned for display: 0, 90, 180 or 270. */
  rotation: number
  frameRate: number
  pixelFormat?: string
  /** As ffprobe names it: "High", "Main", "Constrained Baseline"... */
  profile?: string
  /** H.264 level_idc, e.g. 31 for 3.1. */
  level?: number
}

/** The picture ffmpeg decodes, after autorotation: what the ladder's filter graph starts from. */
export function decodedPicture(video: VideoFacts): {width: number; height: number} {
  return video.rotation % 180 === 0 ? {width: video.width, height: video.height} : {width: video.height, height: video.width}
}

export interface AudioFacts {
  codec: string
  channels: number
  channelLayout?: string
  sampleRate: number
}

export interface SourceFacts {
  path: string
  formatName: string
  /** Undefined when the container does not say (raw elementary streams). */
  durationSeconds?: number
  sizeBytes: number
  bitRate?: number
  video: VideoFacts
  audio?: AudioFacts
}

interface ProbeStream {
  codec_type?: string
  codec_name?: string
  profile?: string
  level?: number
  width?: number
  height?: number
  sample_aspect_ratio?: string
  avg_frame_rate?: string
  r_frame_rate?: string
  pix_fmt?: string
  channels?: number
  channel_layout?: string
  sample_rate?: string
  duration?: string
  disposition?: {attached_pic?: number}
  tags?: Record<string, string>
  side_data_list?: Array<{side_data_type?: string; rotation?: number}>
}

export interface ProbeOutput {
  streams?: ProbeStream[]
  format?: {format_name?: string; duration?: string; size?: string; bit_rate?: string}
}

export function buildProbeArgs(input: string): string[] {
  return ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', input]
}

/** Formats ffprobe recognises that are not a video to transcode: still images and text. */
const NOT_VIDEO_FORMATS = /(^|,)(tty|image2|\w+_pipe|gif|apng|webp_pipe)(,|$)/

export function parseRatio(value: string | undefined): number | undefined {
  if (!value) return undefined
  const [numerator, denominator] = value.split(/[/:]/).map(Number)
  if (!numerator || !Number.isFinite(numerator)) return undefined
  if (denominator === undefined) return numerator
  if (!denominator || !Number.isFinite(denominator)) return undefined
  return numerator / denominator
}

function readRotation(stream: ProbeStream): number {
  const matrix = stream.side_data_list?.find((entry) => typeof entry.rotation === 'number')
  const degrees = matrix?.rotation ?? Number(stream.tags?.rotate ?? 0)
  // The display matrix counts counter-clockwise; normalise to 0..359 clockwise.
  const clockwise = matrix ? -degrees : degrees
  return ((Math.round(clockwise / 90) * 90) % 360 + 360) % 360
}

function positiveNumber(value: string | undefined): number | undefined {
  const parsed = Number(value)
  return Number.isFinite(parsed) && parsed > 0 ? parsed : undefined
}

/** Turns ffprobe's JSON into SourceFacts, or a UserError saying why the input cannot be used. */
export function parseProbeOutput(input: string, probe: ProbeOutput, sizeBytes: number): SourceFacts {
  const formatName = probe.format?.format_name ?? 'unknown'
  const streams = probe.streams ?? []
  const videoStream = streams.find((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1)
  if (!videoStream || NOT_VIDEO_FORMATS.test(formatName)) {
    throw new UserError(`${input} has no video stream to transcode (format: ${formatName})`, {
      hint: 'livectl transcodes video files; give it a file with a video track (mp4, mov, mkv, ts, flv...).',
    })
  }

  const width = videoStream.width ?? 0
  const height = videoStream.height ?? 0
  if (width < 2 || height < 2) throw new UserError(`${input}: the video stream has no usable picture size (${width}x${height})`)

  const sampleAspect = parseRatio(videoStream.sample_aspect_ratio) ?? 1
  const rotation = readRotation(videoStream)
  const shownWidth = Math.round(width * sampleAspect)
  const turned = rotation === 90 || rotation === 270
  const frameRate = parseRatio(videoStream.avg_frame_rate) ?? parseRatio(videoStream.r_frame_rate) ?? 25

  const audioStream = streams.find((stream) => stream.codec_type === 'audio')
  const durationSeconds = positiveNumber(probe.format?.duration) ?? positiveNumber(videoStream.duration)

  return {
    path: input,
    formatName,
    durationSeconds,
    sizeBytes,
    bitRate: positiveNumber(probe.format?.bit_rate),
    video: {
      codec: videoStream.codec_name ?? 'unknown',
      width,
      height,
      displayWidth: turned ? height : shownWidth,
      displayHeight: turned ? shownWidth : height,
      rotation,
      frameRate: Math.round(frameRate * 1000) / 1000,
      pixelFormat: videoStream.pix_fmt,
      profile: videoStream.profile,
      level: videoStream.level,
    },
    audio: audioStream
      ? {
          codec: audioStream.codec_name ?? 'unknown',
          channels: audioStream.channels ?? 2,
          channelLayout: audioStream.channel_layout,
          sampleRate: Number(audioStream.sample_rate ?? 48_000),
        }
      : undefined,
  }
}

/** Checks the file, runs ffprobe, and returns the facts, or throws a UserError that says what is wrong. */
export async function probeSource(input: string, options: {signal?: AbortSignal} = {}): Promise<SourceFacts> {
  let sizeBytes: number
  try {
    const info = await stat(input)
    if (!info.isFile()) throw new UserError(`${input} is not a file`)
    sizeBytes = info.size
  } catch (error) {
    if (error instanceof UserError) throw error
    throw new UserError(`Input file not found: ${input}`, {hint: 'Check the path; relative paths are resolved from the current directory.'})
  }

  if (sizeBytes === 0) throw new UserError(`Input file is empty (0 bytes): ${input}`)

  const {ffprobe} = await mediaTools()
  let output: string
  try {
    output = (await runProcess(ffprobe, buildProbeArgs(input), {captureStdout: true, signal: options.signal})).stdout
  } catch (error) {
    if (error instanceof ExternalError && error.stderrTail !== undefined) {
      const reason = error.stderrTail.split('\n').filter(Boolean).pop() ?? 'unreadable'
      throw new UserError(`${input} is not a media file ffprobe can read (${reason.replace(`${input}: `, '')})`, {cause: error})
    }

    throw error
  }

  return parseProbeOutput(input, JSON.parse(output) as ProbeOutput, sizeBytes)
}

/** Probes a network stream (the live pull): quick, bounded analysis, and a read timeout. */
export async function probeStream(url: string, options: {signal?: AbortSignal; readTimeoutSeconds?: number} = {}): Promise<SourceFacts> {
  const {ffprobe} = await mediaTools()
  const args = ['-rw_timeout', String((options.readTimeoutSeconds ?? 5) * 1_000_000), '-analyzeduration', '2000000', '-probesize', '1000000', ...buildProbeArgs(url)]
  const {stdout} = await runProcess(ffprobe, args, {captureStdout: true, signal: options.signal})
  return parseProbeOutput(url, JSON.parse(stdout) as ProbeOutput, 0)
}
