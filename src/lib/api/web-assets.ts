/**
 * The watch page's scripts and styles: livectl's own (src/web, compiled to dist/web) and the
 * players' (hls.js, dash.js), copied from the installed npm packages by the build
 * (scripts/build-web.mjs) with brotli and gzip copies beside them. `serve` serves them itself, so
 * the page works offline and behind a firewall. They live under /assets/BUILD_ID/, a hash of
 * their contents, so they can be cached for a year and a new build is never mixed with an old one.
 */
import {readFile} from 'node:fs/promises'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export interface WebAssets {
  /** The folder with the built assets. */
  dir: string
  /** Hash of the assets, part of their URLs; undefined when they have not been built. */
  buildId?: string
  /** URL path of the assets folder, ending in "/". */
  basePath: string
  /** File names of the players' scripts inside the folder. */
  vendor: {hls: string; dash: string}
}

const BUILD_FILE = 'build.json'
const VENDOR_FILES = {hls: 'vendor/hls.min.js', dash: 'vendor/dash.mediaplayer.min.js'} as const

/** The repository (or installed package) root: three levels above this file, in src/ and in dist/ alike. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

const DEFAULT_WEB_DIR = path.join(PACKAGE_ROOT, 'dist', 'web')

export async function loadWebAssets(dir = DEFAULT_WEB_DIR): Promise<WebAssets> {
  let buildId: string | undefined
  try {
    const build = JSON.parse(await readFile(path.join(dir, BUILD_FILE), 'utf8')) as {id?: unknown}
    if (typeof build.id === 'string' && /^[a-f0-9]{8,64}$/.test(build.id)) buildId = build.id
  } catch {
    // Not built: the pages say so instead of serving scripts that are not there.
  }

  return {dir, buildId, basePath: `/assets/${buildId ?? 'unbuilt'}/`, vendor: {...VENDOR_FILES}}
}
