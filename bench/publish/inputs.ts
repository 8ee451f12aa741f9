/**
 * The inputs of bench/publish: real livectl packages of about 1,000 files each (generated once
 * with livectl itself and kept in .bench-work/), and a 1 GiB file of random bytes (written per
 * benchmark run); and the memory check before moto is given a lot to hold.
 */
import {createReadStream, createWriteStream, existsSync} from 'node:fs'
import {readFile, rename, rm, statfs} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {pipeline} from 'node:stream/promises'

import type {PackageManifest} from '../../src/lib/package/manifest.js'
import {buildTestClipArgs} from '../../src/lib/media/test-clip.js'
import {mediaTools} from '../../src/lib/media/tools.js'
import {repoPath} from '../support/paths.js'
import {formatCommand} from '../support/report.js'
import {type RunOptions, runMeasured} from '../support/spawn.js'

export const WORK_DIR = path.join('.bench-work', 'publish')

/**
 * The packages, in the order `--packages` defaults to. Each is a test clip (`buildTestClipArgs`)
 * transcoded and segmented by livectl; `ladder` and `segmentSeconds` left out mean livectl's
 * defaults (no --ladder: 1080p, 720p, 480p, 144p; no --segment-duration: 2 s).
 *
 * - ladder: what a real package of about 1,000 segments looks like, the one the targets are
 *   judged on: 400 s of 1080p30 with livectl's default ladder at 2 s segments, 4 video tracks and
 *   1 audio track x 200 segments, about 470 MB (the ladder sets the bitrates; ultrafast only makes
 *   generating it quick).
 * - small: 500 s at 1 s segments of the 144p rung only (500 video and 501 audio segments, 17 MB),
 *   kept for reference: it shows the fixed cost of a run (start-up, listing, catalog).
 */
export interface PackageDescriptor {
  id: string
  name: string
  /** The targets are judged on it. */
  target: boolean
  videoId: string
  width: number
  height: number
  frameRate: number
  durationSeconds: number
  /** --ladder; livectl's default when left out. */
  ladder?: string
  preset: string
  /** --segment-duration; livectl's default when left out. */
  segmentSeconds?: number
  dir: string
}

export interface PackageTrackSummary {
  name: string
  type: string
  width?: number
  height?: number
  segments: number
  bytes: number
}

/** A package as generated, with what it holds. */
export interface BenchPackage extends PackageDescriptor {
  files: number
  bytes: number
  mediaDurationSeconds: number
  segmentDurationSeconds: number
  tracks: PackageTrackSummary[]
  segmentFiles: number
  playlists: number
  hlsMaster: boolean
  dashManifest: boolean
  commands: string[]
  /** Seconds per generation step; undefined when the package was already there. */
  generation?: Record<string, number>
}

export const PACKAGES: readonly PackageDescriptor[] = [
  {
    id: 'ladder', name: 'ladder package', target: true, videoId: 'bench-ladder',
    width: 1920, height: 1080, frameRate: 30, durationSeconds: 400, preset: 'ultrafast',
    dir: path.join(WORK_DIR, 'package-ladder-1080p-400s'),
  },
  {
    id: 'small', name: 'small package', target: false, videoId: 'bench-small',
    width: 320, height: 180, frameRate: 30, durationSeconds: 500, ladder: '144p', preset: 'ultrafast', segmentSeconds: 1,
    dir: path.join(WORK_DIR, 'package-144p-500s'),
  },
]
export const BIG_FILE = path.join(WORK_DIR, 'random-1gib.bin')
export const BIG_BYTES = 1024 ** 3
export const bigPartial = () => `${BIG_FILE}.partial-${process.pid}`
/**
 * moto held about 4.7 GB for one 1 GiB multipart upload (parts, then the assembled object): 6 GiB
 * free per GiB moto is to hold, for the 1 GiB file and, at the same rate, for the packages.
 */
export const MEMORY_NEEDED_BYTES = 6 * 1024 ** 3
export const GIB = 1024 ** 3

const say = (line: string) => process.stdout.write(`${line}\n`)

/**
 * A real livectl package, generated once and kept in .bench-work/ (delete its directory to
 * regenerate): the test clip (encoded as every benchmark encodes it), `livectl transcode` with
 * the descriptor's ladder, preset and segment duration (livectl's defaults where it has none),
 * then `livectl segment`. Returns the descriptor with what the package holds.
 */
export async function ensurePackage(run: RunOptions, descriptor: PackageDescriptor): Promise<BenchPackage> {
  const {id, width, height, frameRate, durationSeconds, ladder, preset, segmentSeconds, dir} = descriptor
  const source = path.join(WORK_DIR, `source-${width}x${height}-${durationSeconds}s.mp4`)
  const renditions = path.join(WORK_DIR, `renditions-${id}-${durationSeconds}s`)
  const clipArgs = buildTestClipArgs({width, height, frameRate, durationSeconds, audio: 'stereo', output: source})
  const transcodeArgs = [
    'bin/run.js', 'transcode', source, '-o', renditions,
    ...(ladder ? ['--ladder', ladder] : []),
    '--preset', preset,
    ...(segmentSeconds ? ['--segment-duration', String(segmentSeconds)] : []),
    '--json',
  ]
  const segmentArgs = ['bin/run.js', 'segment', renditions, '-o', dir, '--json']
  const commands = [formatCommand('ffmpeg', clipArgs), formatCommand('node', transcodeArgs), formatCommand('node', segmentArgs)]
  const manifestFile = repoPath(path.join(dir, 'livectl-package.json'))
  let generation: Record<string, number> | undefined
  if (!existsSync(manifestFile)) {
    await rm(repoPath(dir), {recursive: true, force: true})
    await rm(repoPath(renditions), {recursive: true, force: true})
    const {ffmpeg} = await mediaTools()
    generation = {}
    const steps: Array<[string, string, string[]]> = [['clip', ffmpeg, clipArgs], ['transcode', process.execPath, transcodeArgs], ['segment', process.execPath, segmentArgs]]
    for (const [step, file, args] of steps) {
      process.stdout.write(`Generating the ${descriptor.name}: ${step} ...`)
      const {wallSeconds} = await runMeasured([{file, args}], run)
      generation[step] = wallSeconds
      process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
    }

    await rm(repoPath(source), {force: true})
    await rm(repoPath(renditions), {recursive: true, force: true})
  }

  const manifestText = await readFile(manifestFile)
  const manifest = JSON.parse(manifestText.toString('utf8')) as PackageManifest
  // livectl-package.json counts the media and manifests; publish also uploads that file itself.
  const files = manifest.totalFiles + 1
  const bytes = manifest.totalBytes + manifestText.length
  const trackList = [...manifest.renditions, ...(manifest.audio ? [manifest.audio] : [])]
  const tracks = trackList.map((track): PackageTrackSummary => ({
    name: track.name ?? track.id,
    type: track.type,
    width: track.width,
    height: track.height,
    segments: track.segments.length,
    bytes: track.init.sizeBytes + track.segments.reduce((sum, segment) => sum + segment.sizeBytes, 0),
  }))
  say(`${descriptor.name} ${dir}: ${files} files, ${(bytes / 1e6).toFixed(1)} MB, ${tracks.length} tracks${generation ? '' : ' (cached)'}`)
  return {
    ...descriptor,
    files,
    bytes,
    mediaDurationSeconds: manifest.durationSeconds,
    segmentDurationSeconds: manifest.segmentDurationSeconds,
    tracks,
    segmentFiles: tracks.reduce((sum, track) => sum + track.segments, 0),
    playlists: trackList.filter((track) => track.playlist).length,
    hlsMaster: Boolean(manifest.hlsMaster),
    dashManifest: Boolean(manifest.dashManifest),
    commands,
    generation,
  }
}

/** 1 GiB from /dev/urandom (incompressible), written once under a temporary name. */
export async function ensureBigFile(): Promise<boolean> {
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

async function memoryAvailableBytes(): Promise<number> {
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile('/proc/meminfo', 'utf8'))
  return kib ? Number(kib[1]) * 1024 : Number.POSITIVE_INFINITY
}

/** Throws unless moto can hold `bytesHeld` (at the rate it needed for the 1 GiB upload); `what` names it in the message. */
export async function assertMemoryFor(bytesHeld: number, what: string): Promise<void> {
  const needed = (MEMORY_NEEDED_BYTES * bytesHeld) / BIG_BYTES
  const available = await memoryAvailableBytes()
  if (available < needed) throw new Error(`only ${(available / GIB).toFixed(1)} GiB of memory available; moto needs about ${(needed / GIB).toFixed(1)} GiB for ${what}`)
}

export function assertMemoryForBigUpload(): Promise<void> {
  return assertMemoryFor(BIG_BYTES, 'a 1 GiB upload')
}
