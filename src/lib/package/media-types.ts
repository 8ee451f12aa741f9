/** What each package file is (Content-Type) and how long it may be cached, wherever it is stored or served. */

const CONTENT_TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mpd': 'application/dash+xml',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.m4a': 'audio/mp4',
  '.json': 'application/json',
}

export function contentTypeFor(file: string): string {
  const extension = file.slice(file.lastIndexOf('.')).toLowerCase()
  return CONTENT_TYPES[extension] ?? 'application/octet-stream'
}

/**
 * Manifests change (a live playlist grows; a re-publish replaces it): never cache them. Segments
 * never change under the same name: cache them for a year.
 */
export function cacheControlFor(file: string): string {
  return /\.(m3u8|mpd|json)$/i.test(file) ? 'no-cache' : 'public, max-age=31536000, immutable'
}
