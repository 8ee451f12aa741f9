/**
 * GET /video/time: which segments a player of a given device needs from an offset on. Pure.
 */
import type {PackageManifest, PackageSegment, PackageTrack} from '../package/manifest.js'
import type {DeviceProfile} from './device-profiles.js'

export interface Frame {
  type: 'video' | 'audio'
  index: number
  /** Seconds from the start of the video. */
  start: number
  duration: number
  rendition: string
  width?: number
  height?: number
  /** Peak bits per second of this rendition. */
  bandwidth: number
  codecs: string
  url: string
  initUrl: string
}

export const DEFAULT_WINDOW_SECONDS = 30

/**
 * The tallest video rendition that fits the device (short side and peak bandwidth, audio included)
 * and the client's bandwidth hint; the smallest one when none fits.
 */
export function selectRendition(pkg: PackageManifest, profile: DeviceProfile, bandwidthHintKbps?: number): PackageTrack | undefined {
  const audioBandwidth = pkg.audio?.bandwidth ?? 0
  const limitBps = Math.min(profile.maxBandwidthKbps, bandwidthHintKbps ?? Number.POSITIVE_INFINITY) * 1000
  const bySize = [...pkg.renditions].sort((a, b) => shortSide(b) - shortSide(a) || b.bandwidth - a.bandwidth)
  const fitting = bySize.find((track) => shortSide(track) <= profile.maxShortSide && track.bandwidth + audioBandwidth <= limitBps)
  return fitting ?? bySize.at(-1)
}

function shortSide(track: PackageTrack): number {
  return Math.min(track.width ?? 0, track.height ?? 0)
}

/**
 * Segments overlapping [start, start + window). A negative offset counts back from the end (the
 * live edge for a live video). Past the end there is nothing.
 */
export function segmentsInWindow(segments: readonly PackageSegment[], offsetSeconds: number, windowSeconds: number): PackageSegment[] {
  const last = segments.at(-1)
  const end = last ? last.startSeconds + last.durationSeconds : 0
  const start = offsetSeconds < 0 ? Math.max(0, end + offsetSeconds) : offsetSeconds
  const stop = start + windowSeconds
  return segments.filter((segment) => segment.startSeconds + segment.durationSeconds > start + 1e-6 && segment.startSeconds < stop)
}

export interface FrameQuery {
  offsetSeconds: number
  windowSeconds: number
  profile: DeviceProfile
  bandwidthHintKbps?: number
}

/** Which segments answer a query: the chosen rendition's and the audio's, before any URL is built. */
export interface FramePlan {
  video?: PackageTrack
  videoSegments: PackageSegment[]
  audio?: PackageTrack
  audioSegments: PackageSegment[]
}

export function planFrames(pkg: PackageManifest, query: FrameQuery): FramePlan {
  // "By device" picks a video rendition (picture size and bandwidth). An audio-only package (a
  // podcast) has one rendition, its audio, which fits every device: every device gets the audio's
  // frames, in the same shape (type "audio", no width or height), and no video frames.
  if (pkg.renditions.length === 0 && pkg.audio) {
    return {videoSegments: [], audio: pkg.audio, audioSegments: segmentsInWindow(pkg.audio.segments, query.offsetSeconds, query.windowSeconds)}
  }

  const video = selectRendition(pkg, query.profile, query.bandwidthHintKbps)
  if (!video) return {videoSegments: [], audioSegments: []}
  return {
    video,
    videoSegments: segmentsInWindow(video.segments, query.offsetSeconds, query.windowSeconds),
    audio: pkg.audio,
    audioSegments: pkg.audio ? segmentsInWindow(pkg.audio.segments, query.offsetSeconds, query.windowSeconds) : [],
  }
}

/** A key that is equal for two queries exactly when they get the same frames. */
export function framePlanKey(plan: FramePlan): string {
  const span = (segments: PackageSegment[]) => (segments.length === 0 ? '-' : `${segments[0]?.index}-${segments.at(-1)?.index}`)
  return `${plan.video?.id ?? ''}:${span(plan.videoSegments)}:${span(plan.audioSegments)}`
}

export function framesFromPlan(plan: FramePlan, urlFor: (file: string) => string): Frame[] {
  const toFrames = (track: PackageTrack, segments: PackageSegment[], type: Frame['type']): Frame[] =>
    segments.map((segment) => ({
      type,
      index: segment.index,
      start: segment.startSeconds,
      duration: segment.durationSeconds,
      rendition: track.name,
      ...(type === 'video' ? {width: track.width, height: track.height} : {}),
      bandwidth: track.bandwidth,
      codecs: track.codecs,
      url: urlFor(segment.file),
      initUrl: urlFor(track.init.file),
    }))
  const frames = [
    ...(plan.video ? toFrames(plan.video, plan.videoSegments, 'video') : []),
    ...(plan.audio ? toFrames(plan.audio, plan.audioSegments, 'audio') : []),
  ]
  return frames.sort((a, b) => a.start - b.start || (a.type === b.type ? 0 : a.type === 'video' ? -1 : 1))
}

export function framesFor(pkg: PackageManifest, query: FrameQuery & {urlFor: (file: string) => string}): Frame[] {
  return framesFromPlan(planFrames(pkg, query), query.urlFor)
}
