/**
 * What a viewer would see and hear in an output, read with ffmpeg's own measuring filters: colour
 * saturation and likeness to a reference picture, combing, frame times, when a flash is seen and
 * a beep heard, each channel's level.
 */
import {spawn} from 'node:child_process'

import {mediaTools} from '../../src/lib/media/tools.js'

async function ffmpegStderr(args: string[]): Promise<string> {
  const {ffmpeg} = await mediaTools()
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', ...args], {stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`ffmpeg ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`))))
  })
}

/** Per-frame values of one metadata key a filter chain prints, with each frame's time. */
async function frameMetadata(input: string[], filter: string, key: string): Promise<Array<{seconds: number; value: number}>> {
  const output = await ffmpegStderr([...input, '-vf', `${filter},metadata=print:key=${key}:file=-`, '-f', 'null', '-'])
  return parseMetadata(output, key)
}

function parseMetadata(output: string, key: string): Array<{seconds: number; value: number}> {
  const values: Array<{seconds: number; value: number}> = []
  let seconds = Number.NaN
  for (const line of output.split('\n')) {
    const time = /pts_time:(-?[\d.]+)/.exec(line)
    if (time) seconds = Number(time[1])
    if (line.startsWith(`${key}=`)) values.push({seconds, value: Number(line.slice(key.length + 1))})
  }

  return values
}

/** Mean chroma saturation over all frames (signalstats SATAVG). */
export async function meanSaturation(file: string): Promise<number> {
  const values = await frameMetadata(['-i', file], 'signalstats', 'lavfi.signalstats.SATAVG')
  return values.reduce((sum, entry) => sum + entry.value, 0) / values.length
}

/** SSIM (all planes, 0..1) of a picture against a reference of the same size. */
export async function ssimAgainst(file: string, reference: string): Promise<number> {
  const output = await ffmpegStderr(['-i', file, '-i', reference, '-lavfi', '[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]ssim', '-f', 'null', '-'])
  return Number(/All:([\d.]+)/.exec(output)?.[1])
}

/** PSNR of each plane (dB) against a reference of the same size: the raw values, as a player would read them with the right matrix. */
export async function psnrAgainst(file: string, reference: string): Promise<{y: number; u: number; v: number}> {
  const output = await ffmpegStderr(['-i', file, '-i', reference, '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-'])
  const match = /PSNR y:([\d.inf]+) u:([\d.inf]+) v:([\d.inf]+)/.exec(output)
  const read = (value: string | undefined) => (value === 'inf' ? Number.POSITIVE_INFINITY : Number(value))
  return {y: read(match?.[1]), u: read(match?.[2]), v: read(match?.[3])}
}

/** PSNR (dB, mean of R, G and B) of two pictures as shown: each turned into RGB by its own matrix and range tags. */
export async function shownPsnrAgainst(file: string, reference: string): Promise<number> {
  const output = await ffmpegStderr(['-i', file, '-i', reference, '-lavfi', '[0:v]zscale=m=gbr:r=full,format=gbrp[a];[1:v]zscale=m=gbr:r=full,format=gbrp[b];[a][b]psnr', '-f', 'null', '-'])
  return Number(/PSNR r:[\d.]+ g:[\d.]+ b:[\d.]+ average:([\d.inf]+)/.exec(output)?.[1])
}

/**
 * idet's multi-frame counts over the whole file. At idet's default sensitivity the fine moving
 * detail of a test pattern reads as combed even when progressive; 1.5 (livectl's own detection
 * threshold) tells woven fields from it.
 */
export async function combedFrames(file: string): Promise<{interlaced: number; progressive: number; frames: number}> {
  const output = await ffmpegStderr(['-i', file, '-map', '0:v:0', '-vf', 'idet=intl_thres=1.5', '-f', 'null', '-'])
  const match = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)/.exec(output)
  const [tff, bff, progressive, undetermined] = [1, 2, 3, 4].map((index) => Number(match?.[index]))
  return {interlaced: (tff as number) + (bff as number), progressive: progressive as number, frames: (tff as number) + (bff as number) + (progressive as number) + (undetermined as number)}
}

/**
 * When the first bright frame is shown. With `ignoreEditList`, times are the fragments' own
 * (tfdt), as hls.js reads them; without, as ffmpeg and MP4 players do.
 */
export async function flashSeconds(file: string, options: {ignoreEditList?: boolean} = {}): Promise<number | undefined> {
  const values = await frameMetadata([...(options.ignoreEditList ? ['-ignore_editlist', '1'] : []), '-i', file, '-map', '0:v:0'], 'signalstats', 'lavfi.signalstats.YAVG')
  return values.find((entry) => entry.value > 100)?.seconds
}

/** When the first 5 ms of audio above -30 dBFS starts. */
export async function beepSeconds(file: string, options: {ignoreEditList?: boolean} = {}): Promise<number | undefined> {
  const output = await ffmpegStderr([
    ...(options.ignoreEditList ? ['-ignore_editlist', '1'] : []), '-i', file, '-map', '0:a:0',
    '-af', 'asetnsamples=n=240,astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level:file=-', '-f', 'null', '-',
  ])
  return parseMetadata(output, 'lavfi.astats.Overall.RMS_level').find((entry) => entry.value > -30)?.seconds
}

/** RMS level of each channel of the first audio stream, dBFS. */
export async function channelLevelsDb(file: string): Promise<number[]> {
  const output = await ffmpegStderr(['-i', file, '-map', '0:a:0', '-af', 'astats=measure_overall=none:measure_perchannel=RMS_level', '-f', 'null', '-'])
  return [...output.matchAll(/RMS level dB:\s*(-?[\d.]+|-inf)/g)].map((match) => (match[1] === '-inf' ? Number.NEGATIVE_INFINITY : Number(match[1])))
}

/** Mean luma of a vertical strip of the frame at `seconds` (x and width as fractions of the frame). */
export async function stripLuma(file: string, seconds: number, strip: {x: number; width: number}): Promise<number> {
  const values = await frameMetadata(['-ss', String(seconds), '-i', file, '-frames:v', '1'], `crop=iw*${strip.width}:ih:iw*${strip.x}:0,signalstats`, 'lavfi.signalstats.YAVG')
  return values[0]?.value ?? Number.NaN
}
