/** Which files of a package go up, and in which order. Pure. */
import type {PackageManifest} from '../package/manifest.js'
import {PACKAGE_MANIFEST_FILE} from '../package/manifest.js'

export type PublishPhase = 'media' | 'playlists' | 'masters' | 'manifest'

export interface PublishFile {
  /** File name inside the package (and under the video's prefix in storage). */
  file: string
  phase: PublishPhase
}

/**
 * Segments and init segments first, then media playlists, then the HLS master and the MPD that
 * point at them, then livectl-package.json: at no moment does storage hold a manifest that points
 * at a file that is not there yet.
 */
export function planPublish(manifest: PackageManifest): PublishFile[] {
  const tracks = [...manifest.renditions, ...(manifest.audio ? [manifest.audio] : [])]
  const media = tracks.flatMap((track) => [track.init.file, ...track.segments.map((segment) => segment.file)])
  const playlists = tracks.map((track) => track.playlist).filter((file): file is string => Boolean(file))
  const masters = [manifest.hlsMaster, manifest.dashManifest].filter((file): file is string => Boolean(file))
  return [
    ...[...new Set(media)].map((file) => ({file, phase: 'media' as const})),
    ...playlists.map((file) => ({file, phase: 'playlists' as const})),
    ...masters.map((file) => ({file, phase: 'masters' as const})),
    {file: PACKAGE_MANIFEST_FILE, phase: 'manifest' as const},
  ]
}

export const PHASE_ORDER: readonly PublishPhase[] = ['media', 'playlists', 'masters', 'manifest']

/** Manifests change content under the same name; segments never do. Only manifests need a CDN invalidation. */
export function isManifestFile(file: string): boolean {
  return /\.(m3u8|mpd|json)$/i.test(file)
}

