/**
 * Which ffmpeg/ffprobe livectl runs, and whether they can do what the pipeline needs.
 * ffmpeg: LIVECTL_FFMPEG, ffmpeg-static if installed (its install downloads a binary, which fails
 * without internet, so it is optional), `ffmpeg` on PATH.
 * ffprobe: LIVECTL_FFPROBE, the `ffprobe` beside the resolved ffmpeg (same build, so it reads what
 * ffmpeg writes), `ffprobe` on PATH, and @ffprobe-installer/ffprobe only when nothing else exists:
 * its static 2023 git build dies with SIGSEGV on every MPEG-TS file.
 */
import {accessSync, constants, realpathSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import {UserError} from '../errors.js'
import {runProcess} from '../process.js'

export type ToolName = 'ffmpeg' | 'ffprobe'
/** 'beside-ffmpeg': the ffprobe in the directory of the ffmpeg livectl runs. */
export type ToolSource = 'env' | 'beside-ffmpeg' | 'path' | 'npm'

export interface ResolvedTool {
  name: ToolName
  path: string
  source: ToolSource
}

export interface ToolVersion {
  /** As printed, e.g. "5.1.9-0+deb12u1" or "N-66595-gc2b38619c0-static". */
  version: string
  /** The FFmpeg release line the libraries belong to, e.g. 5 for libavcodec 59. */
  major: number
}

/** The oldest FFmpeg release livectl accepts (name: in -var_stream_map, -ldash, -hls_master_name). */
export const MINIMUM_FFMPEG_MAJOR = 5

const INSTALL_HINT =
  'Install FFmpeg 5 or newer: `sudo apt-get install -y --no-install-recommends ffmpeg` on Debian/Ubuntu, ' +
  'or point LIVECTL_FFMPEG / LIVECTL_FFPROBE at a recent static build.'

const require = createRequire(import.meta.url)

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue
    const candidate = path.join(dir, name)
    if (isExecutableFile(candidate)) return candidate
  }

  return undefined
}

function fromNpmPackage(name: ToolName): string | undefined {
  try {
    if (name === 'ffmpeg') {
      const binary = require('ffmpeg-static') as string | null
      return binary && isExecutableFile(binary) ? binary : undefined
    }

    const installer = require('@ffprobe-installer/ffprobe') as {path?: string}
    return installer.path && isExecutableFile(installer.path) ? installer.path : undefined
  } catch {
    return undefined
  }
}

const ENV_VARIABLE: Record<ToolName, string> = {ffmpeg: 'LIVECTL_FFMPEG', ffprobe: 'LIVECTL_FFPROBE'}

export function resolveTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): ResolvedTool {
  const variable = ENV_VARIABLE[name]
  const fromEnv = env[variable]
  if (fromEnv) {
    const resolved = fromEnv.includes('/') ? fromEnv : findOnPath(fromEnv, env.PATH)
    if (!resolved || !isExecutableFile(resolved)) {
      throw new UserError(`${variable}=${fromEnv} is not an executable file`, {hint: INSTALL_HINT})
    }

    return {name, path: resolved, source: 'env'}
  }

  if (name === 'ffprobe') {
    const beside = ffprobeBesideFfmpeg(env)
    if (beside) return {name, path: beside, source: 'beside-ffmpeg'}
    const onPath = findOnPath(name, env.PATH)
    if (onPath) return {name, path: onPath, source: 'path'}
    const npmBinary = fromNpmPackage(name)
    if (npmBinary) return {name, path: npmBinary, source: 'npm'}
  } else {
    const npmBinary = fromNpmPackage(name)
    if (npmBinary) return {name, path: npmBinary, source: 'npm'}
    const onPath = findOnPath(name, env.PATH)
    if (onPath) return {name, path: onPath, source: 'path'}
  }

  const checked = name === 'ffprobe' ? `${variable}, beside ffmpeg, PATH, and the npm package` : `${variable}, the npm package, and PATH`
  throw new UserError(`${name} was not found (checked ${checked})`, {hint: INSTALL_HINT})
}

/**
 * The ffprobe in the resolved ffmpeg's directory: first where the binary really is (symlinks
 * followed, e.g. /usr/bin/ffmpeg -> /etc/alternatives -> /opt/ffmpeg-7/bin), then beside the link.
 */
function ffprobeBesideFfmpeg(env: NodeJS.ProcessEnv): string | undefined {
  let ffmpeg: string
  try {
    ffmpeg = resolveTool('ffmpeg', env).path
  } catch {
    // No usable ffmpeg: doctor and mediaTools() report that on their own.
    return undefined
  }

  const directories = [path.dirname(ffmpeg)]
  try {
    directories.unshift(path.dirname(realpathSync(ffmpeg)))
  } catch {
    // Unreadable link: the directory as given is all there is.
  }

  for (const directory of new Set(directories)) {
    const candidate = path.join(directory, 'ffprobe')
    if (isExecutableFile(candidate)) return candidate
  }

  return undefined
}

/** FFmpeg release line by libavcodec major: 58 is 4.x, 59 is 5.x, 60 is 6.x, 61 is 7.x, 62 is 8.x. */
const LIBAVCODEC_TO_RELEASE = 54

/** Parses `ffmpeg -version` / `ffprobe -version`. Git builds ("N-66595-g...") are dated by their libavcodec. */
export function parseToolVersion(output: string): ToolVersion {
  const version = /^\S+ version (\S+)/m.exec(output)?.[1] ?? 'unknown'
  const libavcodec = /^libavcodec\s+(\d+)\./m.exec(output)?.[1]
  if (libavcodec) return {version, major: Number(libavcodec) - LIBAVCODEC_TO_RELEASE}
  const release = /^n?(\d+)\./.exec(version)?.[1]
  return {version, major: release ? Number(release) : 0}
}

export interface ToolCapabilities {
  libx264: boolean
  aac: boolean
  mp4Muxer: boolean
  hlsMuxer: boolean
  dashMuxer: boolean
  /** HLS with fMP4 segments (-hls_segment_type fmp4). */
  hlsFmp4: boolean
  /** DASH muxer writing CMAF mp4 segments with HLS playlists beside the MPD. */
  dashCmaf: boolean
}

/** Reads the lists printed by `ffmpeg -encoders`, `-muxers` and `-h muxer=hls/dash`. */
export function parseCapabilities(listings: {encoders: string; muxers: string; hlsHelp: string; dashHelp: string}): ToolCapabilities {
  const hasEntry = (listing: string, name: string) => new RegExp(`^\\s*[A-Z.]{1,6}\\s+${name}\\s`, 'm').test(listing)
  return {
    libx264: hasEntry(listings.encoders, 'libx264'),
    aac: hasEntry(listings.encoders, 'aac'),
    mp4Muxer: hasEntry(listings.muxers, 'mp4'),
    hlsMuxer: hasEntry(listings.muxers, 'hls'),
    dashMuxer: hasEntry(listings.muxers, 'dash'),
    hlsFmp4: /hls_segment_type/.test(listings.hlsHelp) && /fmp4/.test(listings.hlsHelp),
    dashCmaf: /dash_segment_type/.test(listings.dashHelp) && /hls_playlist/.test(listings.dashHelp),
  }
}

export async function readToolVersion(tool: ResolvedTool): Promise<ToolVersion> {
  const {stdout} = await runProcess(tool.path, ['-hide_banner', '-version'], {captureStdout: true})
  // -hide_banner hides the library lines on some builds; ask again without it when they are missing.
  if (/libavcodec/.test(stdout)) return parseToolVersion(stdout)
  const full = await runProcess(tool.path, ['-version'], {captureStdout: true})
  return parseToolVersion(full.stdout)
}

export async function readCapabilities(ffmpeg: ResolvedTool): Promise<ToolCapabilities> {
  const read = async (args: string[]) => (await runProcess(ffmpeg.path, ['-hide_banner', ...args], {captureStdout: true})).stdout
  const [encoders, muxers, hlsHelp, dashHelp] = await Promise.all([
    read(['-encoders']),
    read(['-muxers']),
    read(['-h', 'muxer=hls']),
    read(['-h', 'muxer=dash']),
  ])
  return parseCapabilities({encoders, muxers, hlsHelp, dashHelp})
}

export interface MediaTools {
  ffmpeg: string
  ffprobe: string
}

let checked: Promise<MediaTools> | undefined

/**
 * The ffmpeg and ffprobe to run, checked once per process: both must exist and ffmpeg must be
 * at least FFmpeg 5. Everything that runs ffmpeg goes through here.
 */
export function mediaTools(): Promise<MediaTools> {
  checked ??= (async () => {
    const ffmpeg = resolveTool('ffmpeg')
    const ffprobe = resolveTool('ffprobe')
    const version = await readToolVersion(ffmpeg)
    assertSupportedVersion(ffmpeg, version)
    return {ffmpeg: ffmpeg.path, ffprobe: ffprobe.path}
  })()
  checked.catch(() => {
    checked = undefined
  })
  return checked
}

export function assertSupportedVersion(tool: ResolvedTool, version: ToolVersion): void {
  if (version.major < MINIMUM_FFMPEG_MAJOR) {
    throw new UserError(
      `${tool.path} is FFmpeg ${version.version}, but livectl needs FFmpeg ${MINIMUM_FFMPEG_MAJOR}.0 or newer`,
      {hint: INSTALL_HINT},
    )
  }
}
