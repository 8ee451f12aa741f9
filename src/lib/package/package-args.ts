/**
 * The ffmpeg argv that packages renditions, without re-encoding, into one set of CMAF fMP4
 * segments referenced by both a DASH MPD and HLS playlists. Pure: returns string[].
 */

export interface PackageArgsInput {
  /** Rendition MP4s, tallest first; each contributes its video. */
  inputs: readonly string[]
  /** Index into `inputs` whose audio is packaged, once; undefined for silent sources. */
  audioInput?: number
  segmentDurationSeconds: number
  /** Path of the MPD to write; segments and playlists land beside it. */
  manifestPath: string
}

export const INIT_SEGMENT_TEMPLATE = 'init-$RepresentationID$.m4s'
export const MEDIA_SEGMENT_TEMPLATE = 'seg-$RepresentationID$-$Number%05d$.m4s'

export function buildPackageArgs(options: PackageArgsInput): string[] {
  const args = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1']
  for (const input of options.inputs) args.push('-i', input)
  options.inputs.forEach((_, index) => args.push('-map', `${index}:v:0`))
  if (options.audioInput !== undefined) args.push('-map', `${options.audioInput}:a:0`)
  const adaptationSets = options.audioInput === undefined ? 'id=0,streams=v' : 'id=0,streams=v id=1,streams=a'
  args.push(
    '-c', 'copy',
    '-f', 'dash',
    '-seg_duration', String(options.segmentDurationSeconds),
    '-use_template', '1',
    // A SegmentTimeline states every segment's real duration, so the MPD and the HLS playlists
    // list exactly the same segments (the audio's short last one included).
    '-use_timeline', '1',
    '-adaptation_sets', adaptationSets,
    // CMAF: fMP4 segments that the HLS playlists written beside the MPD reference too.
    '-dash_segment_type', 'mp4',
    '-hls_playlist', '1',
    '-hls_master_name', 'ffmpeg-master.m3u8',
    '-init_seg_name', INIT_SEGMENT_TEMPLATE,
    '-media_seg_name', MEDIA_SEGMENT_TEMPLATE,
    options.manifestPath,
  )
  return args
}

/** Representation ids are the output stream indices: videos 0..n-1, then audio. */
export function mediaPlaylistName(representationId: number): string {
  return `media_${representationId}.m3u8`
}
