import path from 'node:path'

/** A safe directory name from a file or directory path: "My Clip (1).mov" -> "my-clip-1". */
export function slugFromPath(file: string): string {
  // Resolved, so that `livectl segment .` is named after the directory it runs in.
  const stem = path.basename(path.resolve(file)).replace(/\.[^.]+$/, '')
  const slug = stem.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '')
  return slug || 'output'
}
