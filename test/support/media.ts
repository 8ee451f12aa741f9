/** Fixtures for integration tests: tiny generated clips and ffprobe readings of outputs. */
import {spawn} from 'node:child_process'
import {mkdtemp, rm} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {generateTestClip, type TestClipOptions} from '../../src/lib/media/test-clip.js'
import {mediaTools} from '../../src/lib/media/tools.js'

export async function makeTempDir(prefix = 'livectl-test-'): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})}
}

export async function makeClip(dir: string, name: string, options: Omit<TestClipOptions, 'output'>): Promise<string> {
  return generateTestClip({...options, output: path.join(dir, name)})
}

/**
 * An audio-only recording (a podcast stand-in): a mono 440 Hz tone, its container and codec chosen
 * by the name's extension (mp3, m4a, wav, ogg), with cover art (an attached picture) if asked.
 */
export async function makeAudioClip(dir: string, name: string, options: {durationSeconds: number; coverArt?: boolean}): Promise<string> {
  const {ffmpeg} = await mediaTools()
  const output = path.join(dir, name)
  const cover = options.coverArt
    ? {input: ['-f', 'lavfi', '-i', 'color=c=orange:s=64x64:d=1'], output: ['-map', '1:v', '-frames:v', '1', '-c:v', 'mjpeg', '-disposition:v', 'attached_pic']}
    : {input: [], output: []}
  await capture(ffmpeg, [
    '-hide_banner', '-nostdin', '-y', '-loglevel', 'error',
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${options.durationSeconds}`, ...cover.input,
    '-map', '0:a', ...cover.output, output,
  ])
  return output
}

async function capture(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${err}`))))
  })
}

export interface ProbedStream {
  codec_type: string
  codec_name: string
  profile?: string
  level?: number
  width?: number
  height?: number
  channels?: number
  sample_rate?: string
}

export async function probeStreams(file: string): Promise<{streams: ProbedStream[]; format: {duration?: string}}> {
  const {ffprobe} = await mediaTools()
  return JSON.parse(await capture(ffprobe, ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]))
}

export async function keyframeTimes(file: string): Promise<number[]> {
  const {ffprobe} = await mediaTools()
  const out = await capture(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file])
  return out
    .split('\n')
    .filter((line) => line.includes('K'))
    .map((line) => Number(line.split(',')[0]))
}

/** Decodes a whole file (or init+segment concatenation) and fails on any decoder error. */
export async function decodeCleanly(file: string): Promise<void> {
  const {ffmpeg} = await mediaTools()
  await capture(ffmpeg, ['-v', 'error', '-xerror', '-i', file, '-f', 'null', '-'])
}

/** Presentation times of every video frame, in order. */
export async function framePresentationTimes(file: string): Promise<number[]> {
  const {ffprobe} = await mediaTools()
  const out = await capture(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', file])
  // A frame with side data (x264's SEI at a chunk's first frame) prints a second, empty csv line.
  return out.split('\n').map((line) => line.split(',')[0]).filter((field): field is string => Boolean(field)).map(Number)
}

/** ffmpeg's SSIM (All, in dB) of a rendition against the source scaled to its size with lanczos. */
export async function ssimDb(rendition: string, source: string, width: number, height: number): Promise<number> {
  const {ffmpeg} = await mediaTools()
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-i', rendition, '-i', source, '-lavfi', `[1:v]scale=${width}:${height}:flags=lanczos[ref];[0:v][ref]ssim`, '-f', 'null', '-'], {stdio: ['ignore', 'ignore', 'pipe']})
    let err = ''
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`ssim exited ${code}: ${err.slice(-500)}`))))
  })
  const match = /SSIM .*All:[\d.]+ \(([\d.]+|inf)\)/.exec(out)
  if (!match) throw new Error(`no SSIM in ffmpeg's output: ${out.slice(-300)}`)
  return match[1] === 'inf' ? Infinity : Number(match[1])
}
