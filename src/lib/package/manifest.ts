/**
 * livectl-package.json: what a package holds, down to every segment's time and size. `publish`
 * and the API read this instead of parsing playlists.
 */
import path from 'node:path'

import {UserError} from '../errors.js'
import {readJsonFile} from '../files.js'

export const PACKAGE_MANIFEST_FILE = 'livectl-package.json'
export const HLS_MASTER_FILE = 'master.m3u8'
export const DASH_MANIFEST_FILE = 'manifest.mpd'

export type PackageFormat = 'hls' | 'dash'
const PACKAGE_FORMATS: readonly PackageFormat[] = ['hls', 'dash']

export interface PackageFile {
  file: string
  sizeBytes: number
}

export interface PackageSegment extends PackageFile {
  index: number
  startSeconds: number
  durationSeconds: number
}

/**
 * Appends a segment that follows the last one (index and start from it; times rounded to the
 * microsecond, as everywhere in a manifest). Returns it.
 */
export function appendSegment(segments: PackageSegment[], file: string, durationSeconds: number, sizeBytes: number): PackageSegment {
  const previous = segments.at(-1)
  const round = (seconds: number) => Math.round(seconds * 1e6) / 1e6
  const segment = {index: segments.length, file, startSeconds: previous ? round(previous.startSeconds + previous.durationSeconds) : 0, durationSeconds: round(durationSeconds), sizeBytes}
  segments.push(segment)
  return segment
}

export interface PackageTrack {
  /** DASH Representation id (also in the file names). */
  id: string
  name: string
  type: 'video' | 'audio'
  /** This track's own codec, e.g. "avc1.64001f" or "mp4a.40.2". */
  codecs: string
  /** Peak bits per second over any one segment. */
  bandwidth: number
  averageBandwidth: number
  width?: number
  height?: number
  frameRate?: number
  channels?: number
  sampleRate?: number
  /** HLS media playlist, when the package has HLS. */
  playlist?: string
  init: PackageFile
  segments: PackageSegment[]
}

export interface PackageManifest {
  version: 1
  createdAt: string
  durationSeconds: number
  segmentDurationSeconds: number
  formats: PackageFormat[]
  hlsMaster?: string
  dashManifest?: string
  /** Video renditions, tallest first; none in an audio-only package (its one track is `audio`). */
  renditions: PackageTrack[]
  audio?: PackageTrack
  totalFiles: number
  totalBytes: number
}

export function parseFormats(value: string): PackageFormat[] {
  const formats = [...new Set(value.split(',').map((format) => format.trim().toLowerCase()).filter(Boolean))]
  if (formats.length === 0) throw new UserError('--format needs at least one of hls, dash')
  for (const format of formats) {
    if (!(PACKAGE_FORMATS as readonly string[]).includes(format)) {
      throw new UserError(`Unknown format "${format}"`, {hint: 'Use hls, dash or hls,dash.'})
    }
  }

  return formats as PackageFormat[]
}

export async function readPackageManifest(dir: string): Promise<PackageManifest> {
  const file = path.join(dir, PACKAGE_MANIFEST_FILE)
  return (await readJsonFile(file, new UserError(`${dir} is not a livectl package: ${PACKAGE_MANIFEST_FILE} is missing`, {
    hint: 'Run `livectl segment DIR -o PKG` first.',
  }))) as PackageManifest
}
