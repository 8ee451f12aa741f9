/**
 * The inputs of bench/publish.mjs: a real livectl package of about 1,000 files (generated once
 * with livectl itself and kept in .bench-work/), and a 1 GiB file of random bytes (written per
 * benchmark run); and the memory check before each 1 GiB upload to moto.
 */
import {createReadStream, createWriteStream, existsSync} from 'node:fs'
import {readFile, rename, rm, statfs} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {pipeline} from 'node:stream/promises'
import {fileURLToPath, pathToFileURL, URL} from 'node:url'

import {formatCommand, runMeasured} from './support.mjs'

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const WORK_DIR = path.join('.bench-work', 'publish')
/** 500 s at 1 s segments: 500 video and 501 audio segments, 2 init segments and 5 manifests. */
export const CLIP = {width: 320, height: 180, frameRate: 30, durationSeconds: 500, ladder: '144p', preset: 'ultrafast', segmentSeconds: 1}
export const PACKAGE_DIR = path.join(WORK_DIR, `package-${CLIP.ladder}-${CLIP.durationSeconds}s`)
export const BIG_FILE = path.join(WORK_DIR, 'random-1gib.bin')
export const BIG_BYTES = 1024 ** 3
export const bigPartial = () => `${BIG_FILE}.partial-${process.pid}`
/** moto held about 4.7 GB for one 1 GiB multipart upload (parts, then the assembled object). */
export const MEMORY_NEEDED_BYTES = 6 * 1024 ** 3
export const GIB = 1024 ** 3

export async function importDist(modulePath) {
  const file = path.join(REPO_ROOT, 'dist', modulePath)
  if (!existsSync(file)) throw new Error(`${path.relative(REPO_ROOT, file)} is missing: run \`npm run build\` first (or \`npm run bench:publish\`).`)
  return import(pathToFileURL(file).href)
}

const say = (line) => process.stdout.write(`${line}\n`)
export const repoPath = (relative) => path.join(REPO_ROOT, relative)

/** A real livectl package, generated once and kept in .bench-work/ (delete it to regenerate). */
export async function ensurePackage(run) {
  const {buildTestClipArgs} = await importDist('lib/media/test-clip.js')
  const {mediaTools} = await importDist('lib/media/tools.js')
  const source = path.join(WORK_DIR, `source-${CLIP.width}x${CLIP.height}-${CLIP.durationSeconds}s.mp4`)
  const renditions = path.join(WORK_DIR, `renditions-${CLIP.ladder}-${CLIP.durationSeconds}s`)
  const clipArgs = buildTestClipArgs({width: CLIP.width, height: CLIP.height, frameRate: CLIP.frameRate, durationSeconds: CLIP.durationSeconds, audio: 'stereo', output: source})
  const transcodeArgs = ['bin/run.js', 'transcode', source, '-o', renditions, '--ladder', CLIP.ladder, '--preset', CLIP.preset, '--segment-duration', String(CLIP.segmentSeconds), '--json']
  const segmentArgs = ['bin/run.js', 'segment', renditions, '-o', PACKAGE_DIR, '--json']
  const commands = [formatCommand('ffmpeg', clipArgs), formatCommand('node', transcodeArgs), formatCommand('node', segmentArgs)]
  const manifestFile = repoPath(path.join(PACKAGE_DIR, 'livectl-package.json'))
  let generation
  if (!existsSync(manifestFile)) {
    await rm(repoPath(PACKAGE_DIR), {recursive: true, force: true})
    await rm(repoPath(renditions), {recursive: true, force: true})
    const {ffmpeg} = await mediaTools()
    generation = {}
    for (const [id, file, args] of [['clip', ffmpeg, clipArgs], ['transcode', process.execPath, transcodeArgs], ['segment', process.execPath, segmentArgs]]) {
      process.stdout.write(`Generating the package: ${id} ...`)
      const {wallSeconds} = await runMeasured([{file, args}], run)
      generation[id] = wallSeconds
      process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
    }

    await rm(repoPath(source), {force: true})
    await rm(repoPath(renditions), {recursive: true, force: true})
  }

  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'))
  // livectl-package.json counts the media and manifests; publish also uploads that file itself.
  const files = manifest.totalFiles + 1
  const bytes = manifest.totalBytes + (await readFile(manifestFile)).length
  say(`Package ${PACKAGE_DIR}: ${files} files, ${(bytes / 1e6).toFixed(1)} MB${generation ? '' : ' (cached)'}`)
  return {dir: PACKAGE_DIR, files, bytes, durationSeconds: manifest.durationSeconds, tracks: manifest.renditions.length + (manifest.audio ? 1 : 0), commands, generation}
}

/** 1 GiB from /dev/urandom (incompressible), written once under a temporary name. */
export async function ensureBigFile() {
  if (existsSync(repoPath(BIG_FILE))) return false
  const {bavail, bsize} = await statfs(repoPath(WORK_DIR))
  if (bavail * bsize < 3 * GIB) throw new Error(`less than 3 GiB free under ${WORK_DIR}: the 1 GiB file needs room (or use --skip-1gib)`)
  process.stdout.write(`Writing ${BIG_FILE} from /dev/urandom ...`)
  const partial = repoPath(bigPartial())
  await pipeline(createReadStream('/dev/urandom', {start: 0, end: BIG_BYTES - 1}), createWriteStream(partial))
  await rename(partial, repoPath(BIG_FILE))
  say(' done')
  return true
}

async function memoryAvailableBytes() {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile('/proc/meminfo', 'utf8'))
  return kib ? Number(kib[1]) * 1024 : Number.POSITIVE_INFINITY
}

export async function assertMemoryForBigUpload() {
  const available = await memoryAvailableBytes()
  if (available < MEMORY_NEEDED_BYTES) throw new Error(`only ${(available / GIB).toFixed(1)} GiB of memory available; moto needs about ${(MEMORY_NEEDED_BYTES / GIB).toFixed(0)} GiB for a 1 GiB upload`)
}
