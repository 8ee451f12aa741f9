/** HLS media playlists written by livectl: a rolling window while live, the whole stream at the end. Pure. */
import type {PackageSegment} from './manifest.js'

export interface MediaPlaylistInput {
  initFile: string
  segments: readonly PackageSegment[]
  /** Seconds of the most recent segments to list while live; undefined lists all. */
  windowSeconds?: number
  ended: boolean
}

/** The segments inside a window measured back from the live edge (at least one). */
function windowSegments(segments: readonly PackageSegment[], windowSeconds: number | undefined): PackageSegment[] {
  if (windowSeconds === undefined || segments.length === 0) return [...segments]
  const last = segments.at(-1) as PackageSegment
  const edge = last.startSeconds + last.durationSeconds
  const kept = segments.filter((segment) => segment.startSeconds + segment.durationSeconds > edge - windowSeconds)
  return kept.length > 0 ? kept : [last]
}

export function buildMediaPlaylist(input: MediaPlaylistInput): string {
  const listed = input.ended ? [...input.segments] : windowSegments(input.segments, input.windowSeconds)
  const target = Math.max(1, ...listed.map((segment) => Math.ceil(segment.durationSeconds - 1e-3)))
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    `#EXT-X-MEDIA-SEQUENCE:${listed[0]?.index ?? 0}`,
    ...(input.ended && listed[0]?.index === 0 ? ['#EXT-X-PLAYLIST-TYPE:VOD'] : []),
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${input.initFile}"`,
  ]
  for (const segment of listed) lines.push(`#EXTINF:${segment.durationSeconds.toFixed(6)},`, segment.file)
  if (input.ended) lines.push('#EXT-X-ENDLIST')
  return `${lines.join('\n')}\n`
}
