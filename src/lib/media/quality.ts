/**
 * `livectl quality`: how close each rung of a transcode is to its source. Per rung, the source is
 * scaled to the rung's picture with lanczos and compared frame by frame with ffmpeg's `ssim` and
 * `psnr` filters (and `libvmaf` where the ffmpeg has it: Debian's has not), in one decode of both;
 * with the rung's real video bit rate (average and per-segment peak) and bits per pixel.
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {UserError} from '../errors.js'
import {runProcess} from '../process.js'
import {readRenditionsManifest} from './renditions.js'
import {measureVideoBitrates} from './bitrate.js'
import {BASE_ARGS} from './ffmpeg-fragments.js'
import {mediaTools} from './tools.js'

export interface RungQuality {
  name: string
  width: number
  height: number
  /** ffmpeg's linear SSIM, all planes. */
  ssim: number
  /** The same as -10 log10(1 - SSIM). */
  ssimDb: number
  /** Mean PSNR over all planes, dB. */
  psnrDb: number
  /** Present where the ffmpeg has libvmaf. */
  vmaf?: number
  videoKbps: number
  peakKbps: number
  /** Video bits per pixel per frame. */
  bitsPerPixel: number
}

export interface QualityReport {
  dir: string
  source: string
  vmafAvailable: boolean
  rungs: RungQuality[]
}

export interface QualityOptions {
  /** A `transcode` output (holds renditions.json). */
  dir: string
  /** The recording it was made from. */
  source: string
  signal?: AbortSignal
  onProgress?: (progress: {fraction: number}) => void
}

/** ffmpeg argv comparing a rendition with its source scaled to the rendition's size. Pure. */
export function buildQualityArgs(options: {rendition: string; source: string; width: number; height: number; vmaf: boolean}): string[] {
  const taps = options.vmaf ? 3 : 2
  const list = (prefix: string) => Array.from({length: taps}, (_, index) => `[${prefix}${index}]`).join('')
  const graph = [
    `[1:v]scale=${options.width}:${options.height}:flags=lanczos,format=yuv420p,setsar=1,split=${taps}${list('r')}`,
    `[0:v]format=yuv420p,setsar=1,split=${taps}${list('d')}`,
    '[d0][r0]ssim',
    '[d1][r1]psnr',
    ...(options.vmaf ? ['[d2][r2]libvmaf'] : []),
  ]
  return [...BASE_ARGS.filter((arg) => arg !== 'warning' && arg !== '-loglevel'), '-loglevel', 'info', '-nostats', '-i', options.rendition, '-i', options.source, '-lavfi', graph.join(';'), '-f', 'null', '-']
}

/** The scores in ffmpeg's log. Pure. */
export function parseQualityLog(log: string): {ssim: number; ssimDb: number; psnrDb: number; vmaf?: number} {
  const ssim = /SSIM .*All:([\d.]+) \(([\d.]+|inf)\)/.exec(log)
  const psnr = /PSNR .*average:([\d.]+|inf)/.exec(log)
  if (!ssim || !psnr) throw new UserError('ffmpeg printed no SSIM or PSNR: the rendition and the source could not be compared', {hint: 'Check that --source is the recording this transcode was made from.'})
  const vmaf = /VMAF score:\s*([\d.]+)/.exec(log)
  const toNumber = (value: string) => (value === 'inf' ? Number.POSITIVE_INFINITY : Number(value))
  return {
    ssim: Number(ssim[1]),
    ssimDb: toNumber(ssim[2] as string),
    psnrDb: toNumber(psnr[1] as string),
    ...(vmaf ? {vmaf: Number(vmaf[1])} : {}),
  }
}

let vmafCheck: Promise<boolean> | undefined
async function hasVmaf(ffmpeg: string): Promise<boolean> {
  vmafCheck ??= runProcess(ffmpeg, ['-hide_banner', '-filters'], {captureStdout: true}).then((result) => /\slibvmaf\s/.test(result.stdout), () => false)
  return vmafCheck
}

export async function measureQuality(options: QualityOptions): Promise<QualityReport> {
  const manifest = await readRenditionsManifest(options.dir)
  const source = path.resolve(options.source)
  const present = await stat(source).catch(() => undefined)
  if (!present?.isFile()) throw new UserError(`Source not found: ${options.source}`, {hint: 'Give the recording the renditions were made from.'})
  const {ffmpeg, ffprobe} = await mediaTools()
  const vmaf = await hasVmaf(ffmpeg)
  const rungs: RungQuality[] = []
  for (const [index, rendition] of manifest.renditions.entries()) {
    const file = path.join(options.dir, rendition.file)
    const summary: string[] = []
    await runProcess(ffmpeg, buildQualityArgs({rendition: file, source, width: rendition.width, height: rendition.height, vmaf}), {
      signal: options.signal,
      onStderrLine: (line) => {
        if (/SSIM |PSNR |VMAF score/.test(line)) summary.push(line)
      },
    })
    const scores = parseQualityLog(summary.join('\n'))
    const measured = rendition.measuredVideo ?? (await measureVideoBitrates(ffprobe, file, rendition.durationSeconds, options.signal))
    rungs.push({
      name: rendition.name,
      width: rendition.width,
      height: rendition.height,
      ...scores,
      videoKbps: measured.averageKbps,
      peakKbps: measured.peakKbps,
      bitsPerPixel: Number(((measured.averageKbps * 1000) / (rendition.width * rendition.height * rendition.frameRate)).toFixed(4)),
    })
    options.onProgress?.({fraction: (index + 1) / manifest.renditions.length})
  }

  return {dir: path.resolve(options.dir), source, vmafAvailable: vmaf, rungs}
}

/** One measured point of a rate-quality curve: a bit rate and the quality it gave (SSIM in dB, or any score that grows with quality). */
export interface RateQualityPoint {
  kbps: number
  quality: number
}

/**
 * The bit rate a rate-quality curve needs for a quality: the log of the rate linear in the quality
 * between the two measured points that bracket it (the BD-rate convention), or along the nearest
 * end's two points beyond the measured range (`extrapolated`). What "bits at matched quality"
 * means in BENCHMARKS.md: the fixed ladder's bits for the quality another mode reached. Pure.
 */
export function rateAtQuality(curve: readonly RateQualityPoint[], quality: number): {kbps: number; extrapolated: boolean} {
  const points = [...curve].sort((a, b) => a.kbps - b.kbps)
  if (points.length < 2) throw new Error('a rate-quality curve needs at least two points')
  const along = (a: RateQualityPoint, b: RateQualityPoint) => {
    if (a.quality === b.quality) return quality <= a.quality ? a.kbps : b.kbps
    const position = (quality - a.quality) / (b.quality - a.quality)
    return 2 ** (Math.log2(a.kbps) + position * (Math.log2(b.kbps) - Math.log2(a.kbps)))
  }

  for (let index = 0; index < points.length - 1; index++) {
    const [a, b] = [points[index]!, points[index + 1]!]
    if (quality >= Math.min(a.quality, b.quality) && quality <= Math.max(a.quality, b.quality)) return {kbps: along(a, b), extrapolated: false}
  }

  const best = points.reduce((top, point) => (point.quality > top.quality ? point : top))
  const [a, b] = quality > best.quality ? points.slice(-2) : points.slice(0, 2)
  return {kbps: along(a!, b!), extrapolated: true}
}
