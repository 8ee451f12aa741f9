/**
 * The ffmpeg argv of a live stream: pull the RTMP stream from the local ingest server, encode the
 * ladder once (split), package CMAF for DASH and HLS as segments complete, and copy the original
 * stream to a recording. Pure: returns string[].
 */
import {UserError} from '../errors.js'
import {aacArgs, AUDIO_START_AT_ZERO_FILTER, BASE_ARGS, closedGopArgs, cmafOutputArgs, PROGRESS_ARGS, rateControlArgs, stereoAudioFilter} from '../media/ffmpeg-fragments.js'
import {colourTagArgs, type PicturePlan} from '../media/picture.js'
import type {PlannedRendition} from '../media/ladder.js'
import {fixedRate} from '../media/rate-control.js'
import {buildVideoLadderChains, ladderColours} from '../media/transcode-args.js'
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
  /** What the picture needs before scaling (deinterlacing, HDR to SDR), as for VOD. */
  picture?: PicturePlan
  /** The pushed audio's channels (mono is upmixed at full level). */
  audioChannels?: number
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

function buildLiveFilterGraph(renditions: readonly PlannedRendition[], hasAudio: boolean, sourcePicture?: {width: number; height: number}, picture?: PicturePlan, audioChannels?: number): string {
  const chains = buildVideoLadderChains(renditions, sourcePicture, picture)
  // The audio starts where the picture starts: node-media-server hands a player its cached GOP of
  // video before any audio, and the first audio sample would then sit about a second into the
  // stream. MP4 muxers start every track at decode time 0 and put such an offset in an edit list,
  // which hls.js ignores (it reads tfdt): LL-HLS parts of audio and video then disagree by that
  // second. Silence from 0 to the first sample (and resampling to the timestamps after) keeps both
  // tracks on one timeline.
  if (hasAudio) chains.push(`[0:a:0]${stereoAudioFilter(audioChannels)},${AUDIO_START_AT_ZERO_FILTER}[a]`)
  return chains.join(';')
}

export function buildLiveArgs(options: LiveArgsInput): string[] {
  const prefix = options.namePrefix ?? ''
  const args = [
    ...BASE_ARGS, ...PROGRESS_ARGS,
    // Give up when the stream stops sending (never -timeout: on RTMP input it means "listen").
    '-rw_timeout', String((options.readTimeoutSeconds ?? 5) * 1_000_000),
    '-fflags', '+nobuffer',
    '-i', options.inputUrl,
    '-filter_complex', buildLiveFilterGraph(options.renditions, options.hasAudio, options.sourcePicture, options.picture, options.audioChannels),
  ]
  options.renditions.forEach((_, index) => args.push('-map', `[v${index}]`))
  if (options.hasAudio) args.push('-map', '[a]')
  args.push(
    '-c:v', 'libx264', '-preset', options.preset, '-tune', 'zerolatency',
    // Closed GOPs of exactly one segment in every rung, as for VOD.
    ...closedGopArgs(options.frameRate, options.segmentDurationSeconds),
  )
  // Live keeps each rung's fixed rate (cbr-ish): a viewer's player needs a steady rate at the live edge.
  const colours = options.picture ? ladderColours(options.renditions, options.sourcePicture, options.picture) : undefined
  options.renditions.forEach((rendition, index) => {
    args.push(...rateControlArgs(fixedRate(rendition), index), `-profile:v:${index}`, rendition.profile)
    if (colours?.[index]) args.push(...colourTagArgs(colours[index], `v:${index}`))
  })
  if (options.hasAudio) args.push(...aacArgs(LIVE_AUDIO_KBPS, 'a'))
  args.push(
    ...cmafOutputArgs({
      segmentDurationSeconds: options.segmentDurationSeconds,
      hasAudio: options.hasAudio,
      initSegmentName: `${prefix}${INIT_SEGMENT_TEMPLATE}`,
      mediaSegmentName: `${prefix}${MEDIA_SEGMENT_TEMPLATE}`,
    }),
    // Keep every segment listed: livectl publishes a rolling window and keeps the whole stream as VOD.
    '-window_size', '0',
    ...(options.lowLatency ? lowLatencyDashArgs(options.lowLatency) : []),
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
