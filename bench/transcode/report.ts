/**
 * The `## Transcode` section of BENCHMARKS.md, from the measurements of bench/transcode/main.ts.
 */
import type {MachineFacts} from '../support/report.js'
import {fence, measuredAt} from '../support/report.js'
import type {Summary} from '../support/stats.js'
import type {Equivalence} from './check.js'

export const LIVECTL_ID = 'livectl'
export const BASELINE_ID = 'single'
export const ALTERNATIVE_ID = 'per-rung'
export type ContenderId = typeof LIVECTL_ID | typeof BASELINE_ID | typeof ALTERNATIVE_ID

const NAMES: Record<ContenderId, string> = {
  [LIVECTL_ID]: '(a) `livectl transcode`',
  [BASELINE_ID]: '(b) hand-written single ffmpeg',
  [ALTERNATIVE_ID]: '(c) one ffmpeg per rung (4 at once)',
}

/** The real benchmark: anything smaller is a smoke run whose numbers mean nothing. */
const FULL_RUNS = 3
const FULL_DURATION_SECONDS = 20

export interface TranscodeOptions {
  runs: number
  durationSeconds: number
  keep: boolean
}

/** One rung of the hand-written ladder. */
export interface LadderRung {
  name: string
  width: number
  height: number
  videoKbps: number
  maxRateKbps: number
  bufferKbps: number
  audioKbps: number
  profile: string
}

export interface Measurement {
  round: number
  id: ContenderId
  wallSeconds: number
  peakRssMb: number
  hwmSumMb: number
  samples: number
}

export interface ContenderStats {
  wall: Summary
  peakRss: Summary
  hwmSum: Summary
}

export interface TranscodeReport {
  options: TranscodeOptions
  startedAt: Date
  loadAtStart: string
  loadAtEnd: string
  machine: MachineFacts
  ffmpeg: {path: string; version: string}
  source: string
  ladder: readonly LadderRung[]
  stats: Record<string, ContenderStats>
  measurements: Measurement[]
  equivalence: Equivalence
  targets: {timeMax: number; perRungMin: number}
  /** Per contender, and livectl's own ffmpeg command (`livectlFfmpeg`). */
  commands: Record<ContenderId, string[]> & {livectlFfmpeg: string}
}

const seconds = (value: number) => value.toFixed(2)
const megabytes = (value: number) => value.toFixed(0)
const verdict = (ok: boolean, smoke: boolean) => (smoke ? `${ok ? 'met' : 'not met'} (smoke run: not a result)` : ok ? '**met**' : '**not met**')

export function renderReport(report: TranscodeReport): string {
  const {options, machine, targets} = report
  const stats = (id: ContenderId): ContenderStats => {
    const found = report.stats[id]
    if (!found) throw new Error(`no measurements of ${id}`)
    return found
  }

  const livectl = stats(LIVECTL_ID).wall.median
  const baseline = stats(BASELINE_ID).wall.median
  const perRung = stats(ALTERNATIVE_ID).wall.median
  const overhead = livectl / baseline
  const perRungRatio = perRung / livectl
  const smoke = options.runs < FULL_RUNS || options.durationSeconds !== FULL_DURATION_SECONDS
  const invocation = `npx tsx bench/transcode/main.ts --runs ${options.runs} --duration ${options.durationSeconds}${options.keep ? ' --keep' : ''}`

  const lines = ['## Transcode', '']
  if (smoke) {
    lines.push(
      `> **Smoke run only** (${options.runs} run(s), ${options.durationSeconds} s clip): these numbers only show that the benchmark works. ` +
        `Run \`npm run bench:transcode\` (${FULL_RUNS} runs, ${FULL_DURATION_SECONDS} s) for real ones.`,
      '',
    )
  }

  lines.push(
    `Measured ${measuredAt(report.startedAt)} with \`${invocation}\` (\`npm run bench:transcode\` builds first and runs the defaults).`,
    '',
    `- Machine: ${machine.cores} cores (nproc), ${machine.cpuModel}, ${machine.memoryGib.toFixed(1)} GiB RAM, ${machine.kernel}; Node ${machine.node}.`,
    `- FFmpeg: ${report.ffmpeg.version} (\`${report.ffmpeg.path}\`), the binary livectl resolves, used by all three contenders.`,
    `- Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- Source: \`${report.source}\`, ${options.durationSeconds} s of 1920x1080 at 30 fps (lavfi testsrc2) with a stereo 44.1 kHz tone, encoded as a camera or OBS would (x264 High profile, CABAC, B-frames, 8 Mbit/s, 250-frame GOP) and AAC (livectl's \`buildTestClipArgs\` with \`encoding: 'camera'\`). An ultrafast-encoded source decodes almost for free and hides what decoding once saves: with one, (c) was only 1.07x slower than livectl (first run of this benchmark).`,
    `- Ladder: livectl's default, ${report.ladder.map((rung) => `${rung.name} ${rung.width}x${rung.height} ${rung.videoKbps}k ${rung.profile}`).join(', ')}; ` +
      'x264 veryfast, 2 s closed GOPs (`-g 60 -keyint_min 60 -sc_threshold 0`, forced keyframes every 2 s), AAC at 48 kHz.',
    '- Scaling: livectl scales each rung from the next larger rung, not from the decoded source (`planScaling` in src/lib/media/transcode-args.ts): here 720p from the source ' +
      '(the 1080p rung is the source picture itself), 480p from 720p, 144p from 480p; a step of less than 2x from another rung (480p from 720p) uses lanczos instead of bicubic. ' +
      'Decoding this source and scaling it for the ladder, without encoding (`-f null`, two runs each, 2026-11-24): every rung from the source 9.9 s of CPU, ' +
      '144p from 480p 9.0 s, livectl\'s scaling 7.9 s, each rung from the one above all in bicubic 7.7 s; decoding alone 4.8 s. ' +
      'Quality of the encoded rungs, SSIM against a lanczos downscale of the source (dB; a sharp reference, which favours lanczos): ' +
      '480p 25.56 scaled from the source (bicubic), 25.34 from 720p in bicubic, 25.91 from 720p in lanczos (livectl); 144p 22.68 from the source, 22.72 from 480p; 720p unchanged (24.56). ' +
      'Unencoded, against a spline or a lanczos downscale, 480p from 720p in lanczos also measured closer than 480p from the source in bicubic (35.2 against 33.7 dB with spline).',
    `- ${options.runs} run(s) per contender, alternating (a, b, c, a, b, c, ...). Wall time: from spawn to the exit of the last process. ` +
      'Peak RSS: the highest total VmRSS of the spawned processes and all their descendants, sampled every 50 ms from /proc; ' +
      'the sum of each process\'s own VmHWM is shown as an upper bound that no sampling gap can hide.',
    `- Outputs of the first round compared with ffprobe (codec, profile, size, SAR, frame count, keyframe times, audio format): ` +
      (report.equivalence.ok ? 'identical across the three contenders.' : `**differences**: ${report.equivalence.problems.join('; ')}.`),
    '',
    '| contender | median wall (s) | min | max | median peak RSS (MB) | max peak RSS (MB) | median sum of VmHWM (MB) |',
    '|---|---:|---:|---:|---:|---:|---:|',
  )
  for (const id of [LIVECTL_ID, BASELINE_ID, ALTERNATIVE_ID] as const) {
    const {wall, peakRss, hwmSum} = stats(id)
    lines.push(
      `| ${NAMES[id]} | ${seconds(wall.median)} | ${seconds(wall.min)} | ${seconds(wall.max)} | ${megabytes(peakRss.median)} | ${megabytes(peakRss.max)} | ${megabytes(hwmSum.median)} |`,
    )
  }

  lines.push(
    '',
    '| ratio of medians | value | target | |',
    '|---|---:|---:|---|',
    `| livectl / hand-written single ffmpeg | ${overhead.toFixed(3)} | <= ${targets.timeMax.toFixed(2)} | ${verdict(overhead <= targets.timeMax, smoke)} |`,
    `| one ffmpeg per rung / livectl | ${perRungRatio.toFixed(3)} | >= ${targets.perRungMin.toFixed(2)} | ${verdict(perRungRatio >= targets.perRungMin, smoke)} |`,
    '',
    'Every run, in the order it ran:',
    '',
    '| round | contender | wall (s) | peak RSS (MB) | sum of VmHWM (MB) | samples |',
    '|---:|---|---:|---:|---:|---:|',
    ...report.measurements.map(
      (m) => `| ${m.round} | ${m.id} | ${seconds(m.wallSeconds)} | ${megabytes(m.peakRssMb)} | ${megabytes(m.hwmSumMb)} | ${m.samples} |`,
    ),
    '',
    '### Commands',
    '',
    `${NAMES[LIVECTL_ID]} (includes Node and oclif start-up, an ffprobe of the source before and one per rendition after):`,
    '',
    ...fence(report.commands[LIVECTL_ID]),
    '',
    'which runs this ffmpeg command (from `livectl transcode --dry-run --json`; it writes into a staging directory that is renamed when complete):',
    '',
    ...fence([report.commands.livectlFfmpeg]),
    '',
    `${NAMES[BASELINE_ID]}, typed out by hand in \`bench/transcode/main.ts\` (the 1080p rung takes the source picture unscaled, and 144p is scaled from the 480p picture as livectl does):`,
    '',
    ...fence(report.commands[BASELINE_ID]),
    '',
    `${NAMES[ALTERNATIVE_ID]}, all four started together:`,
    '',
    ...fence(report.commands[ALTERNATIVE_ID]),
    '',
  )
  return lines.join('\n')
}
