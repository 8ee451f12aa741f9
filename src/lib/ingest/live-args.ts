/**
 * The ffmpeg argv of a live stream: pull the RTMP stream from the local ingest server, encode the
 * ladder once (split), package CMAF for DASH and HLS as segments complete, and copy the original
 * stream to a recording. Pure: returns string[].
 */
import {UserError} from '../errors.js'
import type {PlannedRendition} from '../media/ladder.js'
import {buildVideoLadderChains, gopFrames} from '../media/transcode-args.js'
import {INIT_SEGMENT_TEMPLATE, MEDIA_SEGMENT_TEMPLATE} from '../package/package-args.js'

export interface LiveArgsInput {
  inputUrl: string
  renditions: readonly PlannedRendition[]
  hasAudio: boolean
  frameRate: number
  segmentDurationSeconds: number
  preset: string
  /** Size of the decoded picture, so that a rung of that size counts as the source. */
  sourcePicture?: {width: number; height: number}
  /** The MPD path; segments and HLS playlists land beside it. */
  manifestPath: string
  /** A copy of the incoming stream, as received (MPEG-TS survives a crash). */
  recordingPath: string
  /** Prefix for segment and init names, so a reconnect never overwrites an earlier run. */
  namePrefix?: string
  /** Seconds without data before the pull gives up (the broadcaster has gone). */
  readTimeoutSeconds?: number
  /** Low latency: each segment written as CMAF chunks as they are encoded (see lowLatencyDashArgs). */
  lowLatency?: LowLatencyOutput
}

export interface LowLatencyOutput {
  /** Seconds per chunk (an LL-HLS part). */
  partSeconds: number
  /** The latency a DASH player should aim for (the MPD's ServiceDescription). */
  targetLatencySeconds: number
  /** The origin's clock (UTCTiming in the MPD and in each ProducerReferenceTime). */
  utcTimingUrl: string
}

/**
 * The dash muxer's low-latency mode: segments are written chunk by chunk as encoded (`-streaming`,
 * a moof+mdat every `partSeconds`), each chunk with a producer reference time (`prft`, the wall
 * clock of its first sample), and the MPD says so (availabilityTimeComplete="false", a latency
 * target, ProducerReferenceTime and UTCTiming). Segments stay whole GOPs: chunks cut inside them.
 */
export function lowLatencyDashArgs(output: LowLatencyOutput): string[] {
  return [
    '-streaming', '1',
    '-ldash', '1',
    '-frag_type', 'duration',
    '-frag_duration', String(output.partSeconds),
    '-write_prft', '1',
    '-target_latency', String(output.targetLatencySeconds),
    '-utc_timing_url', output.utcTimingUrl,
  ]
}

export const LIVE_AUDIO_KBPS = 128

function buildLiveFilterGraph(renditions: readonly PlannedRendition[], hasAudio: boolean, sourcePicture?: {width: number; height: number}): string {
  const chains = buildVideoLadderChains(renditions, sourcePicture)
  // The audio starts where the picture starts: node-media-server hands a player its cached GOP of
  // video before any audio, and the first audio sample would then sit about a second into the
  // stream. MP4 muxers start every track at decode time 0 and put such an offset in an edit list,
  // which hls.js ignores (it reads tfdt): LL-HLS parts of audio and video then disagree by that
  // second. Silence from 0 to the first sample (and resampling to the timestamps after) keeps both
  // tracks on one timeline.
  if (hasAudio) chains.push('[0:a:0]aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,aresample=async=1:first_pts=0[a]')
  return chains.join(';')
}

export function buildLiveArgs(options: LiveArgsInput): string[] {
  const gop = String(gopFrames(options.frameRate, options.segmentDurationSeconds))
  const prefix = options.namePrefix ?? ''
  const args = [
    '-hide_banner', '-nostdin', '-y', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
    // Give up when the stream stops sending (never -timeout: on RTMP input it means "listen").
    '-rw_timeout', String((options.readTimeoutSeconds ?? 5) * 1_000_000),
    '-fflags', '+nobuffer',
    '-i', options.inputUrl,
    '-filter_complex', buildLiveFilterGraph(options.renditions, options.hasAudio, options.sourcePicture),
  ]
  options.renditions.forEach((_, index) => args.push('-map', `[v${index}]`))
  if (options.hasAudio) args.push('-map', '[a]')
  args.push(
    '-c:v', 'libx264', '-preset', options.preset, '-tune', 'zerolatency',
    // Closed GOPs of exactly one segment in every rung, as for VOD.
    '-g', gop, '-keyint_min', gop, '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${options.segmentDurationSeconds})`,
    '-x264-params', 'open-gop=0',
  )
  options.renditions.forEach((rendition, index) => {
    args.push(
      `-b:v:${index}`, `${rendition.videoBitrateKbps}k`,
      `-maxrate:v:${index}`, `${rendition.maxRateKbps}k`,
      `-bufsize:v:${index}`, `${rendition.bufferSizeKbps}k`,
      `-profile:v:${index}`, rendition.profile,
    )
  })
  if (options.hasAudio) args.push('-c:a', 'aac', '-b:a', `${LIVE_AUDIO_KBPS}k`)
  args.push(
    '-f', 'dash',
    '-seg_duration', String(options.segmentDurationSeconds),
    '-use_template', '1',
    '-use_timeline', '1',
    // Keep every segment listed: livectl publishes a rolling window and keeps the whole stream as VOD.
    '-window_size', '0',
    '-adaptation_sets', options.hasAudio ? 'id=0,streams=v id=1,streams=a' : 'id=0,streams=v',
    '-dash_segment_type', 'mp4',
    ...(options.lowLatency ? lowLatencyDashArgs(options.lowLatency) : []),
    '-hls_playlist', '1',
    '-hls_master_name', 'ffmpeg-master.m3u8',
    '-init_seg_name', `${prefix}${INIT_SEGMENT_TEMPLATE}`,
    '-media_seg_name', `${prefix}${MEDIA_SEGMENT_TEMPLATE}`,
    options.manifestPath,
    // Second output: the broadcast as received.
    '-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy', '-f', 'mpegts', options.recordingPath,
  )
  return args
}

/** The part duration a user asked for, checked against the segment duration. */
export function validatePartDuration(partSeconds: number, segmentSeconds: number): number {
  if (!Number.isFinite(partSeconds) || partSeconds < 0.1 || partSeconds > segmentSeconds / 2) {
    throw new UserError(`--part-duration must be a number of seconds from 0.1 to half the segment duration (${segmentSeconds / 2}); got ${partSeconds}`, {
      hint: 'Parts of 0.2 to 0.5 s are usual; see BENCHMARKS.md for the latency each gives.',
    })
  }

  return partSeconds
}
