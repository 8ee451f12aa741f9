/**
 * Content-adaptive ladders: five kinds of content made here (talking-head-like, slides, high
 * motion, film grain, flat-colour animation), each transcoded to the default ladder with every
 * `--rate-control` mode (cbr-ish: the fixed ladder; capped-crf; per-title), then measured with
 * `livectl quality` (SSIM: ffmpeg's linear All value against the source scaled to the rung with
 * lanczos; PSNR) and renditions.json (video bits; peak = the highest rate over one segment).
 * Rounds alternate the modes; encode times are medians. The fixed ladder is also encoded with every
 * rate scaled (SCALES): its rate-quality curve per rung gives the bits it needs for the quality
 * each other mode reached ("bits at matched quality", media/quality.ts rateAtQuality).
 *
 *   npm run bench:ladders                 builds, then runs the defaults
 *   npx tsx bench/ladders/main.ts [--duration 20] [--rounds 2] [--only talking,slides] [--no-write]
 *   npx tsx bench/ladders/main.ts --rounds 0      only makes the sources
 *   npx tsx bench/ladders/main.ts --reuse .bench-work/ladders/results.json --modes capped-crf,per-title
 *                                         re-runs those modes only, against the stored fixed
 *                                         ladder (its curve and times) of an earlier run
 *
 * Writes the `## Content-adaptive ladders` section of BENCHMARKS.md.
 */
import {existsSync} from 'node:fs'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {DEFAULT_LADDER, standardLadder} from '../../src/lib/media/ladder.js'
import {type QualityReport, rateAtQuality, type RungQuality} from '../../src/lib/media/quality.js'
import type {RenditionsManifest} from '../../src/lib/media/renditions.js'
import {mediaTools} from '../../src/lib/media/tools.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {loadAverage, machineFacts, measuredAt, writeSection} from '../support/report.js'
import {benchEnvironment, capture, runMeasured} from '../support/spawn.js'
import {median} from '../support/stats.js'
import {type Content, CONTENTS} from './contents.js'

const WORK_DIR = '.bench-work/ladders'
const PRESET = 'veryfast'
const SEGMENT_SECONDS = 2
const MODES = ['cbr-ish', 'capped-crf', 'per-title'] as const
type Mode = (typeof MODES)[number]
/** The modes compared with the fixed ladder (cbr-ish). */
const OTHER_MODES = MODES.filter((mode) => mode !== 'cbr-ish')
/** The fixed ladder's other points on its rate-quality curve: every rung's rates times these. */
const SCALES = [0.15, 0.35, 0.7, 1.4]
interface LaddersOptions {
  durationSeconds: number
  rounds: number
  only?: string[]
  write: boolean
  modes: Mode[]
  reuse?: string
}

/** A rung's quality as measured, with its cap and CRF from renditions.json. */
type MeasuredRung = RungQuality & {capKbps?: number; crf?: number}

interface EncodeTime {
  content: string
  mode: string
  wallSeconds: number
}

/** What results.json keeps of a run, for --reuse. */
interface StoredRun {
  measuredAt?: string
  options: LaddersOptions
  times: EncodeTime[]
  results: Record<string, MeasuredRung[]>
}

const isMode = (value: string): value is Mode => (MODES as readonly string[]).includes(value)

function parseOptions(): LaddersOptions {
  const {values} = parseArgs({
    options: {
      duration: {type: 'string', default: '20'},
      rounds: {type: 'string', default: '2'},
      only: {type: 'string'},
      modes: {type: 'string'},
      reuse: {type: 'string'},
      'no-write': {type: 'boolean', default: false},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write('Usage: npx tsx bench/ladders/main.ts [--duration 20] [--rounds 2] [--only talking,slides] [--no-write] [--reuse RESULTS_JSON --modes capped-crf,per-title]\n')
    process.exit(0)
  }

  const modeNames = values.modes?.split(',') ?? [...MODES]
  const modes = modeNames.filter(isMode)
  if (modes.length !== modeNames.length) throw new Error(`--modes: one of ${MODES.join(', ')}`)
  if (values.reuse && modes.includes('cbr-ish')) throw new Error('--reuse keeps the stored fixed ladder: leave cbr-ish out of --modes')
  if (!values.reuse && values.modes) throw new Error('--modes needs --reuse (the other modes come from it)')
  return {durationSeconds: Number(values.duration), rounds: Number(values.rounds), only: values.only?.split(','), write: !values['no-write'], modes, reuse: values.reuse}
}

async function makeSource(ffmpeg: string, content: Content, seconds: number, env: NodeJS.ProcessEnv): Promise<string> {
  const file = path.join(WORK_DIR, `${content.id}-${seconds}s.mp4`)
  if (existsSync(path.join(REPO_ROOT, file))) return file
  process.stdout.write(`Generating ${file} ...`)
  const partial = path.join(WORK_DIR, `.partial-${process.pid}.mp4`)
  // A near-lossless intermediate, as an editor's export would be.
  const args = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error', '-filter_complex', content.graph(seconds), '-map', '[out]', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '10', '-pix_fmt', 'yuv420p', '-g', '60', partial]
  const {wallSeconds} = await runMeasured([{file: ffmpeg, args}], {cwd: REPO_ROOT, env})
  await rename(path.join(REPO_ROOT, partial), path.join(REPO_ROOT, file))
  process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
  return file
}

/** The results key of the fixed ladder at one point of its curve (scale 1: the default ladder). */
const curveKey = (contentId: string, scale: number) => (scale === 1 ? `${contentId}/cbr-ish` : `${contentId}/cbr-ish@${scale}`)

const pct = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} %`

async function main(): Promise<void> {
  const options = parseOptions()
  const env = benchEnvironment()
  const {ffmpeg} = await mediaTools()
  await mkdir(path.join(REPO_ROOT, WORK_DIR), {recursive: true})
  const contents = CONTENTS.filter((content) => !options.only || options.only.includes(content.id))
  const sources = new Map<string, string>()
  for (const content of contents) sources.set(content.id, await makeSource(ffmpeg, content, options.durationSeconds, env))
  if (options.rounds === 0 && !options.reuse) return // --rounds 0: only make the sources

  const scaledLadders = new Map<number, string>()
  for (const scale of options.reuse ? [] : SCALES) {
    const file = path.join(WORK_DIR, `ladder-x${scale}.json`)
    const rungs = standardLadder(DEFAULT_LADDER).map((rung) => ({...rung, videoBitrateKbps: Math.round(rung.videoBitrateKbps * scale), maxRateKbps: Math.round(rung.maxRateKbps * scale), bufferSizeKbps: Math.round(rung.bufferSizeKbps * scale)}))
    await writeFile(path.join(REPO_ROOT, file), JSON.stringify({rungs}, null, 2))
    scaledLadders.set(scale, file)
  }

  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const times: EncodeTime[] = []
  const results = new Map<string, MeasuredRung[]>()
  let reused: StoredRun | undefined
  if (options.reuse) {
    // The stored run's results and times for every mode not re-run (the fixed ladder and its curve).
    reused = JSON.parse(await readFile(path.resolve(REPO_ROOT, options.reuse), 'utf8')) as StoredRun
    const keep = (mode: string) => !options.modes.some((name) => name === mode.split('@')[0])
    for (const [key, value] of Object.entries(reused.results)) if (keep(key.split('/')[1] ?? '')) results.set(key, value)
    times.push(...reused.times.filter((time) => keep(time.mode)))
  }

  const transcode = (content: Content, out: string, mode: Mode, ladder?: string) => [
    'bin/run.js', 'transcode', sources.get(content.id) ?? '', '-o', out, '--rate-control', mode, ...(ladder ? ['--ladder', ladder] : []),
    '--preset', PRESET, '--segment-duration', String(SEGMENT_SECONDS), '--data-dir', path.join(WORK_DIR, 'data'),
  ]
  const measure = async (content: Content, out: string, key: string) => {
    const report = JSON.parse(await capture(process.execPath, ['bin/run.js', 'quality', out, '--source', sources.get(content.id) ?? '', '--json'], {cwd: REPO_ROOT, env})) as QualityReport
    const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, out, 'renditions.json'), 'utf8')) as RenditionsManifest
    results.set(key, report.rungs.map((rung) => {
      const rendition = manifest.renditions.find((candidate) => candidate.name === rung.name)
      const rateControl = rendition?.rateControl
      return {...rung, capKbps: rendition?.maxRateKbps, crf: rateControl && 'crf' in rateControl ? rateControl.crf : undefined}
    }))
    process.stdout.write(` ${report.rungs.map((rung) => `${rung.name} ${rung.videoKbps}k ${rung.ssim.toFixed(4)}`).join(', ')}`)
  }

  for (let round = 1; round <= options.rounds; round++) {
    for (const content of contents) {
      // Alternate the order of the modes between rounds.
      const modes = (round % 2 === 1 ? MODES : [...MODES].reverse()).filter((mode) => options.modes.includes(mode))
      for (const mode of modes) {
        const out = path.join(WORK_DIR, `out-${content.id}-${mode}`)
        await rm(path.join(REPO_ROOT, out), {recursive: true, force: true})
        process.stdout.write(`round ${round} ${content.id} ${mode} ...`)
        const {wallSeconds} = await runMeasured([{file: process.execPath, args: transcode(content, out, mode)}], {cwd: REPO_ROOT, env})
        times.push({content: content.id, mode, wallSeconds})
        process.stdout.write(` ${wallSeconds.toFixed(1)} s`)
        // x264 is deterministic: quality is measured once.
        if (round === 1) await measure(content, out, `${content.id}/${mode}`)
        process.stdout.write('\n')
      }

      if (round !== 1 || options.reuse) continue
      for (const scale of SCALES) {
        const out = path.join(WORK_DIR, `out-${content.id}-cbr-ish-x${scale}`)
        await rm(path.join(REPO_ROOT, out), {recursive: true, force: true})
        process.stdout.write(`curve ${content.id} cbr-ish x${scale} ...`)
        await capture(process.execPath, transcode(content, out, 'cbr-ish', scaledLadders.get(scale)), {cwd: REPO_ROOT, env})
        await measure(content, out, curveKey(content.id, scale))
        process.stdout.write('\n')
        await rm(path.join(REPO_ROOT, out), {recursive: true, force: true})
      }
    }
  }

  const encodeSeconds = (content: string, mode: Mode) => median(times.filter((time) => time.content === content && time.mode === mode).map((time) => time.wallSeconds))
  const lines = [
    '## Content-adaptive ladders',
    '',
    `Measured ${measuredAt(startedAt)} with \`npx tsx bench/ladders/main.ts --duration ${options.durationSeconds} --rounds ${options.rounds}${options.reuse ? ` --reuse ${options.reuse} --modes ${options.modes.join(',')}` : ''}\`; encode times are medians of ${options.rounds} rounds (modes alternating), quality and bits from the first (x264 is deterministic).${options.reuse ? ` Only ${options.modes.join(' and ')} ran here: the fixed ladder (its bits, quality, curve and encode times) is the stored run of ${reused?.measuredAt ?? 'an earlier run'}.` : ''}`,
    '',
    `- Machine: ${machineFacts().cores} cores (${machineFacts().cpuModel}), load at start ${loadAtStart}.`,
    `- Sources: ${options.durationSeconds} s of 1080p30 each, made here from lavfi (\`bench/ladders/contents.ts\` has the graphs), stored near-lossless (x264 CRF 10). Ladder: the default (1080p, 720p, 480p, 144p), x264 ${PRESET}, ${SEGMENT_SECONDS} s segments.`,
    '- Bits: video only. SSIM: ffmpeg\'s linear `All` against the source scaled to the rung with lanczos (`livectl quality`). Peak: the highest rate over one segment (HLS BANDWIDTH). Cap: the rung\'s max rate in the default ladder.',
    `- Bits at matched quality: the fixed ladder (cbr-ish) was also encoded with every rate times ${SCALES.join(', ')}; with its default point that is a rate-quality curve per rung. For each other mode's rung, the fixed ladder's bits for the same SSIM (in dB) are read off that curve (log rate linear in SSIM dB between the two points around it; beyond the measured range, along the nearest two, marked *), and the mode's saving is its bits against those.`,
    '',
  ]
  let fixedBits = 0
  const perMode = <T>(make: () => T) => Object.fromEntries(MODES.map((mode) => [mode, make()])) as Record<Mode, T>
  const modeBits = perMode(() => 0)
  const notWorse = perMode(() => 0)
  const ssimDeltas = perMode((): number[] => [])
  const overCap = perMode((): string[] => [])
  const matched = perMode(() => ({bits: 0, fixedBits: 0, perKind: [] as Array<{content: string; saving: number}>, extrapolated: 0}))
  const matchedLines: string[] = []
  const measured = (key: string) => {
    const rungs = results.get(key)
    if (!rungs) throw new Error(`no measurement of ${key}`)
    return rungs
  }
  const rungOf = (key: string, index: number) => {
    const rung = measured(key)[index]
    if (!rung) throw new Error(`no rung ${index} in ${key}`)
    return rung
  }
  let rungCount = 0
  for (const content of contents) {
    lines.push(`**${content.label}** (encode: ${MODES.map((mode) => `${mode} ${encodeSeconds(content.id, mode).toFixed(1)} s`).join(', ')})`, '')
    lines.push('| rung | cap kbps | cbr-ish kbps (peak) | SSIM | PSNR | capped-crf kbps (peak) | SSIM | PSNR | per-title CRF | kbps (peak) | SSIM | PSNR |')
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|')
    const fixed = measured(`${content.id}/cbr-ish`)
    for (const [index, rung] of fixed.entries()) {
      rungCount += 1
      const cells: Array<string | number | undefined> = [rung.name, rung.capKbps]
      for (const mode of MODES) {
        const row: MeasuredRung = rungOf(`${content.id}/${mode}`, index)
        modeBits[mode] += row.videoKbps
        if (row.ssim >= rung.ssim) notWorse[mode] += 1
        ssimDeltas[mode].push(row.ssim - rung.ssim)
        if (row.peakKbps > (row.capKbps ?? Number.POSITIVE_INFINITY)) overCap[mode].push(`${content.id} ${row.name} ${row.peakKbps}`)
        if (mode === 'per-title') cells.push(row.crf)
        cells.push(`${row.videoKbps} (${row.peakKbps})`, row.ssim.toFixed(4), row.psnrDb.toFixed(2))
      }

      fixedBits += rung.videoKbps
      lines.push(`| ${cells.join(' | ')} |`)
    }

    lines.push('')
    // The fixed ladder's bits at each other mode's quality, rung by rung.
    const kindCells: string[] = []
    const curvePoints = [...SCALES, 1].sort((a, b) => a - b).map((scale) => measured(curveKey(content.id, scale)))
    for (const mode of OTHER_MODES) {
      let bits = 0
      let equivalent = 0
      for (const index of fixed.keys()) {
        const curve = curvePoints.map((point) => ({kbps: point[index]?.videoKbps ?? Number.NaN, quality: point[index]?.ssimDb ?? Number.NaN}))
        const row = rungOf(`${content.id}/${mode}`, index)
        const at = rateAtQuality(curve, row.ssimDb)
        bits += row.videoKbps
        equivalent += at.kbps
        if (at.extrapolated) matched[mode].extrapolated += 1
        kindCells.push(`${mode} ${row.name}: ${row.videoKbps} vs ${Math.round(at.kbps)}${at.extrapolated ? '*' : ''}`)
      }

      matched[mode].bits += bits
      matched[mode].fixedBits += equivalent
      matched[mode].perKind.push({content: content.id, saving: bits / equivalent - 1})
    }

    matchedLines.push(`| ${content.id} | ${OTHER_MODES.map((mode) => pct(matched[mode].perKind.at(-1)?.saving ?? Number.NaN)).join(' | ')} | ${curvePoints.map((point) => `${point[0]?.videoKbps}: ${point[0]?.ssimDb.toFixed(2)}`).join(', ')} |`)
    lines.push(`At matched quality (kbps, then the fixed ladder's kbps for the same SSIM): ${kindCells.join('; ')}.`, '')
  }

  const totalTime = (mode: Mode) => contents.reduce((sum, content) => sum + encodeSeconds(content.id, mode), 0)
  lines.push('**Over the set**', '')
  lines.push('| mode | video bits vs cbr-ish | rungs with SSIM >= cbr-ish | SSIM minus cbr-ish\'s: median (worst) | rungs with a peak above the cap | encode time vs cbr-ish |')
  lines.push('|---|---|---|---|---|---|')
  for (const mode of MODES) {
    const deltas = ssimDeltas[mode]
    lines.push(`| ${mode} | ${pct(modeBits[mode] / fixedBits - 1)} | ${notWorse[mode]} of ${rungCount} | ${median(deltas).toFixed(4)} (${Math.min(...deltas).toFixed(4)}) | ${overCap[mode].length === 0 ? 'none' : overCap[mode].join('; ')} | ${(totalTime(mode) / totalTime('cbr-ish')).toFixed(3)} |`)
  }

  lines.push('')
  lines.push('**At matched quality** (the fixed ladder\'s bits for the SSIM each mode reached, per rung, summed per kind; the last column is the fixed ladder\'s 1080p curve, kbps: SSIM dB)', '')
  lines.push(`| kind | ${OTHER_MODES.join(' saving | ')} saving | fixed 1080p curve |`)
  lines.push(`|---|${OTHER_MODES.map(() => '---|').join('')}---|`)
  lines.push(...matchedLines)
  const meanSaving = (mode: Mode) => matched[mode].perKind.reduce((sum, kind) => sum + kind.saving, 0) / matched[mode].perKind.length
  lines.push(`| **mean of the kinds** | ${OTHER_MODES.map((mode) => `**${pct(meanSaving(mode))}**`).join(' | ')} | |`)
  lines.push(`| all bits together | ${OTHER_MODES.map((mode) => pct(matched[mode].bits / matched[mode].fixedBits - 1)).join(' | ')} | |`)
  lines.push(`| rungs read beyond the curve (*) | ${OTHER_MODES.map((mode) => `${matched[mode].extrapolated} of ${rungCount}`).join(' | ')} | |`)
  lines.push('')
  const stored: StoredRun = {measuredAt: options.reuse ? reused?.measuredAt : startedAt.toISOString(), options, times, results: Object.fromEntries(results)}
  await writeFile(path.join(REPO_ROOT, WORK_DIR, 'results.json'), JSON.stringify(stored, null, 2))
  const section = lines.join('\n')
  process.stdout.write(`\n${section}\n`)
  if (options.write) await writeSection(BENCHMARKS_FILE, section)
}

await main()
