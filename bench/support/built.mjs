// @ts-check
/**
 * livectl's compiled code (dist/), for the few child processes whose own start-up, import time and
 * memory a benchmark measures (bench/publish/file.mjs and steps.mjs). They run on plain Node with
 * the code `livectl` itself runs, because a TypeScript loader would add its own start-up and memory
 * to what they measure (tsx: about 0.7 s and 13 MB more to load the AWS SDK; Node's own type
 * stripping: 16 MB). Everything else in bench/ imports src/ directly.
 *
 * The callers are type-checked (`// @ts-check`, `npm run typecheck`): each casts what it imports to
 * `typeof import('../../src/lib/...')` of the same module, so a rename in src/ breaks the type check.
 * Plain JavaScript, so that importing it costs those processes nothing either.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath, pathToFileURL, URL} from 'node:url'

/** The repository root (bench/support/paths.ts has the same for the TypeScript side). */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * A compiled module: `modulePath` is its path under dist/, which is its path under src/ ('lib/storage/open.js').
 *
 * @param {string} modulePath
 * @returns {Promise<unknown>}
 */
export async function importBuilt(modulePath) {
  const file = path.join(REPO_ROOT, 'dist', modulePath)
  if (!existsSync(file)) throw new Error(`${path.relative(REPO_ROOT, file)} is missing: run \`npm run build\` first.`)
  return import(pathToFileURL(file).href)
}
