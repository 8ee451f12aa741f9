/**
 * What the live benchmarks share (bench/live, glass to publish and glass to glass, and bench/soak):
 * the pushed clip with its frame-number barcode, the push, ffmpeg with its `-progress` samples, the
 * stream key, and reading a frame number back out of a segment.
 */
import {Buffer} from 'node:buffer'
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, rename} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'

import {createProgressParser} from '../../src/lib/media/progress.js'
import {REPO_ROOT} from './paths.js'
import {capture, type ProcessExit, type ProcessHandle, type RunOptions, runMeasured} from './spawn.js'

export const WORK_DIR = path.join('.bench-work', 'live')
export const FRAME_RATE = 30
/** The frame-number barcode: 16 bits, each drawn as a block followed by its complement. */
export const BLOCKS = 32
export const BITS = BLOCKS / 2
/** Barcode strip height as a fraction of the picture height (32 px at 720p, 48 px at 1080p); it is read from the top 4 %. */
export const STRIP_FRACTION = 32 / 720
export const READ_FRACTION = 0.04

/** Seconds on this process's monotonic clock. */
export const now = (): number => performance.now() / 1000

export interface ClipSpec {
  width: number
  height: number
  seconds: number
  videoKbps: number
}

export function clipArgs({width, height, seconds, videoKbps, output}: ClipSpec & {output: string}): string[] {
  const stripHeight = Math.round((height * STRIP_FRACTION) / 2) * 2
  const block = `floor(X*${BLOCKS}/W)`
  const bit = `mod(floor(N/pow(2,floor(${block}/2))),2)`
  // Even blocks show the bit, odd blocks its complement.
  const luma = `255*abs(${bit}-mod(${block},2))`
  return [
    '-hide_banner', '-nostdin', '-y', '-loglevel', 'warning', '-nostats',
    '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${FRAME_RATE}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-filter_complex',
    `color=c=black:size=${width}x${stripHeight}:rate=${FRAME_RATE}:duration=${seconds},format=gray,geq=lum='${luma}'[strip];` +
      '[0:v][strip]overlay=0:0:shortest=1,format=yuv420p[v]',
    '-map', '[v]', '-map', '1:a',
    // A broadcaster's settings: High profile, CABAC, constant bitrate, 1 s GOPs (so a copy-only packager can cut 1 s segments), no B-frames.
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-bf', '0',
    '-g', String(FRAME_RATE), '-keyint_min', String(FRAME_RATE), '-sc_threshold', '0',
    '-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps}k`,
    '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
    '-movflags', '+faststart', output,
  ]
}

/** The clip for `spec`, generated once into WORK_DIR; its path relative to the repository. */
export async function ensureClip(ffmpeg: string, spec: ClipSpec, env: NodeJS.ProcessEnv): Promise<string> {
  const name = `push-${spec.height}p${FRAME_RATE}-${spec.seconds}s.mp4`
  const clip = path.join(WORK_DIR, name)
  if (existsSync(path.join(REPO_ROOT, clip))) return clip
  const partial = path.join(WORK_DIR, `.partial-${process.pid}-${name}`)
  await mkdir(path.join(REPO_ROOT, WORK_DIR), {recursive: true})
  process.stdout.write(`Generating ${clip} ...`)
  const {wallSeconds} = await runMeasured([{file: ffmpeg, args: clipArgs({...spec, output: partial})}], {cwd: REPO_ROOT, env})
  await rename(path.join(REPO_ROOT, partial), path.join(REPO_ROOT, clip))
  process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
  return clip
}

export function decodeBarcode(bytes: Uint8Array | undefined): number | undefined {
  if (!bytes || bytes.length < BLOCKS) return undefined
  let value = 0
  for (let bit = 0; bit < BITS; bit += 1) {
    const shown = (bytes[2 * bit] ?? 0) > 128
    const complement = (bytes[2 * bit + 1] ?? 0) > 128
    if (shown === complement) return undefined
    if (shown) value += 2 ** bit
  }

  return value
}

/** When ffmpeg had written how much: `wall` on now()'s clock, `media` seconds. */
export interface ProgressSample {
  wall: number
  media: number
}

export interface FfmpegHandle extends ProcessHandle {
  samples: ProgressSample[]
  stderr(): string
}

/** Spawns ffmpeg; parses `-progress pipe:1` into {wall, media} samples when the args ask for it. */
export function startFfmpeg(ffmpeg: string, args: readonly string[], {cwd, env}: RunOptions): FfmpegHandle {
  const child = spawn(ffmpeg, args, {cwd, env, stdio: ['ignore', 'pipe', 'pipe']})
  const samples: ProgressSample[] = []
  let stderr = ''
  let pending = ''
  const parse = createProgressParser((progress) => {
    if (progress.outTimeSeconds !== undefined) samples.push({wall: now(), media: progress.outTimeSeconds})
  })
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) parse(line)
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  const exited = new Promise<ProcessExit>((resolve) => {
    child.on('error', (error) => resolve({code: -1, signal: null, error}))
    child.on('close', (code, signal) => resolve({code, signal, at: now()}))
  })
  return {child, samples, exited, stderr: () => stderr}
}

/** Wall time (now()'s clock) of media time 0 at the pusher: its least-delayed progress report gives it. */
export function pushStartOf(pusher: FfmpegHandle): number {
  return Math.min(...pusher.samples.filter((sample) => sample.media > 0).map((sample) => sample.wall - sample.media))
}

export function pushArgs(clip: string, url: string): string[] {
  return ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1', '-stats_period', '0.1', '-re', '-i', clip, '-c', 'copy', '-f', 'flv', url]
}

export async function createKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const output = await capture(process.execPath, ['bin/run.js', 'keys', 'create', 'bench-live', '--data-dir', dataDir, '--json'], {cwd: REPO_ROOT, env})
  return (JSON.parse(output) as {key: string}).key
}

/** Reads the barcode of the first video frame of `segment` (with its init segment for fMP4). */
export async function readFrameNumber(ffmpeg: string, init: string | undefined, segment: string): Promise<number | undefined> {
  const input = init ? `concat:${init}|${segment}` : segment
  const args = [
    '-hide_banner', '-nostdin', '-v', 'error', '-i', input, '-map', '0:v:0', '-frames:v', '1',
    '-vf', `crop=iw:trunc(ih*${READ_FRACTION}/2)*2:0:0,format=gray,scale=${BLOCKS}:1:flags=area`,
    '-f', 'rawvideo', 'pipe:1',
  ]
  const bytes = await new Promise<Buffer | undefined>((resolve) => {
    const child = spawn(ffmpeg, args, {stdio: ['ignore', 'pipe', 'ignore']})
    const chunks: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
    child.on('error', () => resolve(undefined))
    child.on('close', (code) => resolve(code === 0 ? Buffer.concat(chunks) : undefined))
  })
  return decodeBarcode(bytes)
}
