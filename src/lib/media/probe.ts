/**
 * ffprobe: the facts about a source that ladder planning and progress need, and the checks that
 * turn unusable inputs (missing, empty, not media, no video) into clear user errors before any
 * output exists.
 */
import {stat} from 'node:fs/promises'

import {ExternalError, UserError} from '../errors.js'
import {runProcess} from '../process.js'
import {type ColourFacts, type FrameRate, nominalFrameRate} from './picture.js'
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
  /** The constant rate the rungs run at: the stream's nominal rate (picture.ts nominalFrameRate). */
  frameRate: number
  /** The same, exact, for ffmpeg ("30000/1001"). */
  outputFrameRate?: FrameRate
  /** The average rate of the frames actually there (below the nominal rate when frames are missing). */
  averageFrameRate?: number
  /** The frames do not come at one rate (a phone, a screen recorder, OBS dropping frames). */
  variableFrameRate?: boolean
  /** As the stream declares it; picture.ts fills the gaps as players do. */
  colour?: ColourFacts
  /** progressive, tt, bb, tb, bt (interlaced), unknown, or absent. */
  fieldOrder?: string
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
  color_range?: string
  color_space?: string
  color_transfer?: string
  color_primaries?: string
  field_order?: string
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
  const {rate: outputFrameRate, variable: variableFrameRate} = nominalFrameRate(videoStream.r_frame_rate, videoStream.avg_frame_rate)
  const averageFrameRate = parseRatio(videoStream.avg_frame_rate)
  const colour: ColourFacts = {
    ...(videoStream.color_primaries ? {primaries: videoStream.color_primaries} : {}),
    ...(videoStream.color_transfer ? {transfer: videoStream.color_transfer} : {}),
    ...(videoStream.color_space ? {matrix: videoStream.color_space} : {}),
    ...(videoStream.color_range ? {range: videoStream.color_range} : {}),
  }

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
      frameRate: outputFrameRate.fps,
      outputFrameRate,
      ...(averageFrameRate ? {averageFrameRate: Math.round(averageFrameRate * 1000) / 1000} : {}),
      variableFrameRate,
      colour,
      ...(videoStream.field_order ? {fieldOrder: videoStream.field_order} : {}),
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

/**
 * An input with audio and no picture to transcode: a podcast, a radio show, a talk's audio (cover
 * art in an mp3 or m4a is no picture). `transcode` makes it one AAC rendition (media/audio-only.ts).
 */
export interface AudioOnlySourceFacts extends Omit<SourceFacts, 'video' | 'audio'> {
  video?: undefined
  audio: AudioFacts
}

export type MediaFacts = SourceFacts | AudioOnlySourceFacts

export function isAudioOnly(facts: MediaFacts): facts is AudioOnlySourceFacts {
  return facts.video === undefined
}

/**
 * parseProbeOutput, but an input with an audio stream and no video stream (attached pictures do
 * not count) is AudioOnlySourceFacts. An input with neither is still a UserError.
 */
export function parseMediaProbeOutput(input: string, probe: ProbeOutput, sizeBytes: number): MediaFacts {
  const formatName = probe.format?.format_name ?? 'unknown'
  const streams = probe.streams ?? []
  if (streams.some((stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1)) return parseProbeOutput(input, probe, sizeBytes)
  const audioStream = streams.find((stream) => stream.codec_type === 'audio')
  if (!audioStream) {
    throw new UserError(`${input} has no video or audio stream to transcode (format: ${formatName})`, {
      hint: 'livectl transcodes recordings: give it a file with a video or an audio track (mp4, mov, mkv, ts, mp3, m4a, wav...).',
    })
  }

  return {
    path: input,
    formatName,
    durationSeconds: positiveNumber(probe.format?.duration) ?? positiveNumber(audioStream.duration),
    sizeBytes,
    bitRate: positiveNumber(probe.format?.bit_rate),
    audio: {
      codec: audioStream.codec_name ?? 'unknown',
      channels: audioStream.channels ?? 2,
      channelLayout: audioStream.channel_layout,
      sampleRate: Number(audioStream.sample_rate ?? 48_000),
    },
  }
}

/** Checks the file, runs ffprobe, and returns the facts, or throws a UserError that says what is wrong. */
export async function probeSource(input: string, options: {signal?: AbortSignal} = {}): Promise<SourceFacts> {
  const {probe, sizeBytes} = await readProbe(input, options)
  return parseProbeOutput(input, probe, sizeBytes)
}

/**
 * probeSource for `transcode`, which also takes an audio-only input (a podcast, a radio show):
 * that comes back as AudioOnlySourceFacts instead of a UserError. Every other caller wants video.
 */
export async function probeMedia(input: string, options: {signal?: AbortSignal} = {}): Promise<MediaFacts> {
  const {probe, sizeBytes} = await readProbe(input, options)
  return parseMediaProbeOutput(input, probe, sizeBytes)
}

/** The file checked (there, a file, not empty) and ffprobe's reading of it, or a UserError that says what is wrong. */
async function readProbe(input: string, options: {signal?: AbortSignal}): Promise<{probe: ProbeOutput; sizeBytes: number}> {
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
    // A crash says nothing about the file: it is the binary that is broken (or the wrong build).
    if (error instanceof ExternalError && error.signal) {
      throw new ExternalError(`${ffprobe} was killed by ${error.signal} while reading ${input}`, {
        cause: error,
        command: error.command,
        stderrTail: error.stderrTail,
        signal: error.signal,
        hint: 'This ffprobe is broken or not the build of the ffmpeg livectl runs: check `livectl doctor`, and set LIVECTL_FFPROBE to a working ffprobe (e.g. the system\'s /usr/bin/ffprobe).',
      })
    }

    // ffprobe says 1 for a file it cannot read; anything else (127: a library missing, 137: out of
    // memory) is the tool's failure, not the file's.
    if (error instanceof ExternalError && error.toolExitCode === 1 && error.stderrTail !== undefined) {
      const reason = error.stderrTail.split('\n').filter(Boolean).pop() ?? 'unreadable'
      throw new UserError(`${input} is not a media file ffprobe can read (${reason.replace(`${input}: `, '')})`, {cause: error})
    }

    throw error
  }

  return {probe: JSON.parse(output) as ProbeOutput, sizeBytes}
}

/** Probes a network stream (the live pull): quick, bounded analysis, and a read timeout. */
export async function probeStream(url: string, options: {signal?: AbortSignal; readTimeoutSeconds?: number} = {}): Promise<SourceFacts> {
  const {ffprobe} = await mediaTools()
  const args = ['-rw_timeout', String((options.readTimeoutSeconds ?? 5) * 1_000_000), '-analyzeduration', '2000000', '-probesize', '1000000', ...buildProbeArgs(url)]
  const {stdout} = await runProcess(ffprobe, args, {captureStdout: true, signal: options.signal})
  return parseProbeOutput(url, JSON.parse(stdout) as ProbeOutput, 0)
}
