/**
 * The complexity probe of `--rate-control per-title`: a few evenly spaced stretches of the source,
 * scaled to two small pictures, each encoded at two CRFs with the transcode's preset and GOP (one
 * decode, `split`). Their bit rates say how many bits this content needs for a quality, and how
 * that grows with the picture: rate-control.ts turns them into each rung's CRF. A few percent of
 * the transcode's time (BENCHMARKS.md).
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {removeQuietly} from '../files.js'
import {runProcess} from '../process.js'
import {BASE_ARGS, closedGopArgs} from './ffmpeg-fragments.js'
import type {ComplexityProbe} from './rate-control.js'

/** The two CRFs the probe encodes at: around the range per-title chooses from. */
export const PROBE_CRFS = [18, 26] as const
/** Short sides of the probe's pictures (one only when the source is no larger than the second). */
const PROBE_SHORT_SIDES = [360, 144] as const
/** Stretches sampled, and their length. */
const PROBE_STRETCHES = 4
const PROBE_STRETCH_SECONDS = 0.5

export interface ProbePlan {
  /** Start and length of each sampled stretch. */
  stretches: Array<{startSeconds: number; seconds: number}>
  /** Largest first. */
  sizes: Array<{width: number; height: number}>
}

const even = (value: number) => Math.max(2, Math.round(value / 2) * 2)

/** Where to sample and at what sizes: evenly spaced stretches (the whole source when it is short). */
export function planProbe(source: {durationSeconds: number; width: number; height: number}): ProbePlan {
  const shortSide = Math.min(source.width, source.height)
  const sizes = PROBE_SHORT_SIDES.filter((side, index) => index === 0 || side < Math.min(shortSide, PROBE_SHORT_SIDES[0]) * 0.75).map((side) => {
    const scale = Math.min(1, side / shortSide)
    return {width: even(source.width * scale), height: even(source.height * scale)}
  })
  if (source.durationSeconds <= PROBE_STRETCHES * PROBE_STRETCH_SECONDS * 2) return {stretches: [{startSeconds: 0, seconds: source.durationSeconds}], sizes}
  const spacing = source.durationSeconds / PROBE_STRETCHES
  return {
    stretches: Array.from({length: PROBE_STRETCHES}, (_, index) => ({startSeconds: spacing * (index + 0.5) - PROBE_STRETCH_SECONDS / 2, seconds: PROBE_STRETCH_SECONDS})),
    sizes,
  }
}

export interface ProbeArgsInput {
  input: string
  plan: ProbePlan
  /** One output per size and probe CRF: size 0 at each CRF, then size 1 at each. */
  outputs: readonly string[]
  preset: string
  frameRate: number
  segmentDurationSeconds: number
}

/** One ffmpeg: every stretch (fast seek, then exact), joined, scaled to each size, split to one x264 CRF encode per probe CRF. Pure. */
export function buildProbeArgs(options: ProbeArgsInput): string[] {
  const {plan} = options
  const args = [...BASE_ARGS]
  for (const stretch of plan.stretches) args.push('-ss', stretch.startSeconds.toFixed(3), '-t', stretch.seconds.toFixed(3), '-i', options.input)
  const joined = plan.stretches.length === 1 ? '[0:v:0]' : `${plan.stretches.map((_, index) => `[${index}:v:0]`).join('')}concat=n=${plan.stretches.length}:v=1:a=0,`
  const chains = [`${joined}split=${plan.sizes.length}${plan.sizes.map((_, index) => `[s${index}]`).join('')}`]
  plan.sizes.forEach((size, sizeIndex) => {
    const taps = PROBE_CRFS.map((_, crfIndex) => `[p${sizeIndex * PROBE_CRFS.length + crfIndex}]`).join('')
    chains.push(`[s${sizeIndex}]scale=${size.width}:${size.height},format=yuv420p,split=${PROBE_CRFS.length}${taps}`)
  })
  args.push('-filter_complex', chains.join(';'))
  options.outputs.forEach((output, index) => {
    args.push(
      '-map', `[p${index}]`,
      '-c:v', 'libx264', '-preset', options.preset,
      '-crf', String(PROBE_CRFS[index % PROBE_CRFS.length]),
      ...closedGopArgs(options.frameRate, options.segmentDurationSeconds),
      '-an', '-f', 'mp4', output,
    )
  })
  return args
}

/** Runs the probe in `workDir` (its files removed after) and gives the bit rates it measured. */
export async function runComplexityProbe(options: {
  ffmpeg: string
  input: string
  source: {durationSeconds: number; width: number; height: number}
  preset: string
  frameRate: number
  segmentDurationSeconds: number
  workDir: string
  signal?: AbortSignal
}): Promise<ComplexityProbe> {
  const plan = planProbe(options.source)
  const outputs = plan.sizes.flatMap((size) => PROBE_CRFS.map((crf) => path.join(options.workDir, `probe-${size.height}-crf${crf}.mp4`)))
  try {
    await runProcess(options.ffmpeg, buildProbeArgs({...options, plan, outputs}), {signal: options.signal})
    const seconds = plan.stretches.reduce((sum, stretch) => sum + stretch.seconds, 0)
    const kbps = async (file: string) => Math.round(((await stat(file)).size * 8) / seconds) / 1000
    const sizes = await Promise.all(plan.sizes.map(async (size, sizeIndex) => ({
      ...size,
      points: await Promise.all(PROBE_CRFS.map(async (crf, crfIndex) => ({crf: crf as number, bitrateKbps: await kbps(outputs[sizeIndex * PROBE_CRFS.length + crfIndex] as string)}))),
    })))
    return {sizes}
  } finally {
    await Promise.all(outputs.map((output) => removeQuietly(output)))
  }
}
