/**
 * The ffmpeg argument blocks every encode and package shares, written once: VOD (transcode-args,
 * chunks), live (live-args) and packaging (package-args) compose their argv from these. Pure.
 */

/** Quiet, non-interactive, overwriting: the start of every livectl ffmpeg argv. */
export const BASE_ARGS: readonly string[] = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'warning']

/** key=value progress blocks on stdout, no stats line on stderr (media/progress.ts reads them). */
export const PROGRESS_ARGS: readonly string[] = ['-nostats', '-progress', 'pipe:1']

/** GOP length in frames for a segment duration: one keyframe at every segment boundary. */
export function gopFrames(frameRate: number, segmentDurationSeconds: number): number {
  return Math.max(1, Math.round(frameRate * segmentDurationSeconds))
}

/**
 * Closed GOPs of exactly one segment: the same frame count in every rung, no scene-cut keyframes
 * in between, and keyframes forced by time so that segment boundaries are exact. Applies to every
 * x264 output that follows it (or to the one output it is placed before).
 */
export function closedGopArgs(frameRate: number, segmentDurationSeconds: number): string[] {
  const gop = String(gopFrames(frameRate, segmentDurationSeconds))
  return [
    '-g', gop,
    '-keyint_min', gop,
    '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${segmentDurationSeconds})`,
    '-x264-params', 'open-gop=0',
  ]
}

/**
 * Stereo 48 kHz float, once, before any copy of the audio. 5.1 and 7.1 take swresample's downmix
 * (ITU-R BS.775: the centre, where dialogue lives, at -3 dB in each side, surrounds at -3 dB, LFE
 * left out).
 */
export const STEREO_48K_FILTER = 'aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo'

/**
 * STEREO_48K_FILTER for a source of this many channels. Mono goes to both sides at full level, as
 * a browser plays a mono file (swresample's own upmix would put it 3 dB lower in each).
 */
export function stereoAudioFilter(channels?: number): string {
  return channels === 1 ? `pan=stereo|c0=c0|c1=c0,${STEREO_48K_FILTER}` : STEREO_48K_FILTER
}

/**
 * The audio on its timestamps from 0: silence from 0 to a first sample that comes late (a video
 * track that starts first, a live pull that gets its cached GOP of video before any audio), and
 * gaps filled, so that audio and picture share one timeline starting at 0. MP4 muxers would put
 * such an offset in an edit list, which hls.js ignores (it reads the fragments' decode times).
 */
export const AUDIO_START_AT_ZERO_FILTER = 'aresample=async=1:first_pts=0'

/** AAC-LC at a bit rate (for every audio output, or the stream `specifier` names, e.g. "a:0"). */
export function aacArgs(bitrateKbps: number, specifier?: string): string[] {
  const suffix = specifier ? `:${specifier}` : ''
  return [`-c${suffix}`, 'aac', `-b${suffix}`, `${bitrateKbps}k`]
}

/** x264 analysis set above the preset's own (media/rate-control.ts decides when). */
export interface EncoderAnalysis {
  /** Trellis quantisation: 1 on the final encode of each macroblock. */
  trellis?: number
  /** Frames the rate control (and its VBV) looks ahead. */
  lookaheadFrames?: number
}

/**
 * How one rung's video bits are spent (media/rate-control.ts decides):
 * - abr: an average bit rate held near constant by a VBV cap (livectl's "cbr-ish");
 * - crf: a constant quality (x264 CRF) with the same kind of cap, so peaks stay bounded, and the
 *   analysis it raises above the preset's.
 */
export type RungRateControl =
  | {mode: 'abr'; bitrateKbps: number; maxRateKbps: number; bufferSizeKbps: number}
  | {mode: 'crf'; crf: number; maxRateKbps: number; bufferSizeKbps: number; analysis?: EncoderAnalysis}

/**
 * A rung's rate control as x264 options, for the next output or for video stream `index` of one
 * output. Analysis goes as libx264's own options (applied after the preset), not -x264-params,
 * which closedGopArgs already sets for the same output.
 */
export function rateControlArgs(rate: RungRateControl, index?: number): string[] {
  const suffix = index === undefined ? ':v' : `:v:${index}`
  const analysis = rate.mode === 'crf' ? rate.analysis : undefined
  return [
    ...(rate.mode === 'abr' ? [`-b${suffix}`, `${rate.bitrateKbps}k`] : [`-crf${suffix}`, String(rate.crf)]),
    `-maxrate${suffix}`, `${rate.maxRateKbps}k`,
    `-bufsize${suffix}`, `${rate.bufferSizeKbps}k`,
    ...(analysis?.trellis === undefined ? [] : [`-trellis${suffix}`, String(analysis.trellis)]),
    ...(analysis?.lookaheadFrames === undefined ? [] : [`-rc-lookahead${suffix}`, String(analysis.lookaheadFrames)]),
  ]
}

export interface CmafOutputInput {
  segmentDurationSeconds: number
  hasAudio: boolean
  /** False for an audio-only package: one audio adaptation set and nothing else (default true). */
  hasVideo?: boolean
  initSegmentName: string
  mediaSegmentName: string
}

/**
 * One set of CMAF fMP4 segments that a DASH MPD and HLS playlists (written beside it) both
 * reference: the dash muxer with a SegmentTimeline (every segment's real duration, so the MPD and
 * the playlists list exactly the same segments), video and audio in adaptation sets of their own.
 * The MPD's path follows.
 */
export function cmafOutputArgs(options: CmafOutputInput): string[] {
  return [
    '-f', 'dash',
    '-seg_duration', String(options.segmentDurationSeconds),
    '-use_template', '1',
    '-use_timeline', '1',
    '-adaptation_sets', options.hasVideo === false ? 'id=0,streams=a' : options.hasAudio ? 'id=0,streams=v id=1,streams=a' : 'id=0,streams=v',
    '-dash_segment_type', 'mp4',
    '-hls_playlist', '1',
    '-hls_master_name', 'ffmpeg-master.m3u8',
    '-init_seg_name', options.initSegmentName,
    '-media_seg_name', options.mediaSegmentName,
  ]
}
