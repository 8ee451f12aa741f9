/** Serving package files: content types, cache policy and byte ranges. The pure parts. */

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

/** A package file name: flat, no path separators, no leading dot, nothing like "..". */
export function isSafeFileName(file: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(file) && !file.includes('..')
}

export type ByteRange = {start: number; end: number}

/**
 * Parses a single-range `Range: bytes=...` header against a file size. Returns undefined to serve
 * the whole file (no header, several ranges, or a unit other than bytes), or 'unsatisfiable'.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!match) return undefined
  const [, first, last] = match
  if (first === '' && last === '') return undefined
  if (first === '') {
    const suffix = Number(last)
    if (suffix === 0) return 'unsatisfiable'
    return {start: Math.max(0, size - suffix), end: size - 1}
  }

  const start = Number(first)
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1)
  if (start >= size || start > end) return 'unsatisfiable'
  return {start, end}
}
