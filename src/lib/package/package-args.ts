/**
 * The ffmpeg argv that packages renditions, without re-encoding, into one set of CMAF fMP4
 * segments referenced by both a DASH MPD and HLS playlists. Pure: returns string[].
 */
import {BASE_ARGS, cmafOutputArgs, PROGRESS_ARGS} from '../media/ffmpeg-fragments.js'

export interface PackageArgsInput {
  /** Rendition MP4s, tallest first; each contributes its video (unless audioOnly). */
  inputs: readonly string[]
  /** An audio-only source's package: the inputs hold no video, and only `audioInput`'s audio is packaged. */
  audioOnly?: boolean
  /** Index into `inputs` whose audio is packaged, once; undefined for silent sources. */
  audioInput?: number
  segmentDurationSeconds: number
  /** Path of the MPD to write; segments and playlists land beside it. */
  manifestPath: string
}

export const INIT_SEGMENT_TEMPLATE = 'init-$RepresentationID$.m4s'
export const MEDIA_SEGMENT_TEMPLATE = 'seg-$RepresentationID$-$Number%05d$.m4s'

export function buildPackageArgs(options: PackageArgsInput): string[] {
  const args = [...BASE_ARGS, ...PROGRESS_ARGS]
  for (const input of options.inputs) args.push('-i', input)
  if (!options.audioOnly) options.inputs.forEach((_, index) => args.push('-map', `${index}:v:0`))
  if (options.audioInput !== undefined) args.push('-map', `${options.audioInput}:a:0`)
  args.push(
    '-c', 'copy',
    ...cmafOutputArgs({
      segmentDurationSeconds: options.segmentDurationSeconds,
      hasAudio: options.audioInput !== undefined,
      ...(options.audioOnly ? {hasVideo: false} : {}),
      initSegmentName: INIT_SEGMENT_TEMPLATE,
      mediaSegmentName: MEDIA_SEGMENT_TEMPLATE,
    }),
    options.manifestPath,
  )
  return args
}

/** Representation ids are the output stream indices: videos 0..n-1, then audio. */
export function mediaPlaylistName(representationId: number): string {
  return `media_${representationId}.m3u8`
}
