/** Serving package files over HTTP: safe file names and byte ranges. The pure parts. */

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
