/**
 * The `## Soak` section of BENCHMARKS.md, from the samples of bench/soak/main.ts.
 */
import type {MachineFacts} from '../support/report.js'
import {measuredAt} from '../support/report.js'
import {median, slope} from '../support/stats.js'

export const SAMPLE_SECONDS = 10
export const SEGMENT_SECONDS = 2
export const CLIP_SECONDS = 60
const WARMUP_MINUTES = 5

export interface SoakOptions {
  minutes: number
  keep: boolean
}

/** One sample, every SAMPLE_SECONDS. */
export interface Sample {
  /** Seconds since the push began. */
  elapsed: number
  ingestRssMb: number
  encoderRssMb: number
  ingestFds: number
  encoderFds: number
  /** The encoder's speed metric; NaN when it could not be read. */
  speed: number
  /** Glass to publish of the newest top-rung segment. */
  latency?: number
  stored: number
}

type GrowthField = 'ingestRssMb' | 'encoderRssMb' | 'ingestFds' | 'encoderFds'

export interface SoakReport {
  options: SoakOptions
  startedAt: Date
  loadAtStart: string
  loadAtEnd: string
  machine: MachineFacts
  samples: Sample[]
  pushExit: {code: number | null}
  ended: boolean
  segments: {listed: number; storedTop: number; missingInPlaylist: number; missingInStorage: number; duplicates: number}
  ingestStoppedCleanly: boolean
  commands: {ingest: string; push: string}
}

export function render(report: SoakReport): string {
  const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))
  const warm = report.samples.filter((sample) => sample.elapsed >= WARMUP_MINUTES * 60)
  // Growth is a trend, not one sample: the median of the 5 minutes after the warm-up against the
  // median of the last 5 minutes. Single samples swing with garbage collection (RSS) and with the
  // uploads in flight at that instant (descriptors); the largest one is shown beside it.
  const end = report.samples.at(-1)?.elapsed ?? 0
  const early = warm.filter((sample) => sample.elapsed < (WARMUP_MINUTES + 5) * 60)
  const late = report.samples.filter((sample) => sample.elapsed > end - 5 * 60 && sample.elapsed >= (WARMUP_MINUTES + 5) * 60)
  const growth = (field: GrowthField) => {
    const from = median(early.map((sample) => sample[field]))
    const to = median(late.map((sample) => sample[field]))
    return from > 0 && late.length > 0 ? (to - from) / from : undefined
  }

  const maxGrowth = (field: GrowthField) => {
    const from = median(early.map((sample) => sample[field]))
    return from > 0 ? (Math.max(...warm.map((sample) => sample[field])) - from) / from : undefined
  }
  const latencies = warm.flatMap((sample) => (sample.latency === undefined ? [] : [{elapsed: sample.elapsed, latency: sample.latency}]))
  const drift = slope(latencies.map((sample) => [sample.elapsed, sample.latency] as const))
  const speeds = warm.map((sample) => sample.speed).filter((value) => !Number.isNaN(value))
  const checks: Array<[string, number | undefined, number | undefined, number]> = [
    ['ingest process RSS: median of the last 5 min against minutes 5-10', growth('ingestRssMb'), maxGrowth('ingestRssMb'), 0.05],
    ['encoder (ffmpeg) RSS, the same', growth('encoderRssMb'), maxGrowth('encoderRssMb'), 0.05],
    ['ingest open file descriptors, the same', growth('ingestFds'), maxGrowth('ingestFds'), 0.05],
    ['encoder open file descriptors, the same', growth('encoderFds'), maxGrowth('encoderFds'), 0.05],
  ]
  const met = (value: number | undefined, target: number) => (value !== undefined && value < target ? '**met**' : '**not met**')
  const lines = [
    '## Soak',
    '',
    `Measured ${measuredAt(report.startedAt)} with \`npx tsx bench/soak/main.ts --minutes ${report.options.minutes}\` (\`npm run bench:soak\` builds first and runs 30 minutes).`,
    '',
    `- Machine: ${report.machine.cores} cores (nproc), ${report.machine.cpuModel}, ${report.machine.memoryGib.toFixed(1)} GiB RAM, ${report.machine.kernel}; Node ${report.machine.node}. Load average at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- One ${report.options.minutes}-minute push: a 60 s 1920x1080 30 fps clip (the barcode clip of the Live section, 6 Mbit/s) looped with \`-stream_loop -1 -c copy\`, to \`livectl ingest\` with its default live ladder (720p, 480p, 144p, x264 veryfast, ${SEGMENT_SECONDS} s segments) publishing to a local S3 server (moto 5 on the same machine). Every ${SAMPLE_SECONDS} s: RSS and open file descriptors of the ingest process (Node) and of its encoder (ffmpeg), the encoder speed (its metric), the segments in storage, and the glass-to-publish latency of the newest top-rung segment: when it was first listed in the stored playlist (read every 500 ms) minus when its first frame was pushed (its frame number read from the picture; the loop it belongs to is the one nearest its place in the stream). Growth is the median of the last 5 minutes against the median of minutes ${WARMUP_MINUTES}-${WARMUP_MINUTES + 5} (after start-up and the DVR window filling); the largest single sample after ${WARMUP_MINUTES} minutes is shown beside it, against the same base; drift is the least-squares slope of the latency after ${WARMUP_MINUTES} minutes.`,
    '',
    '| check | growth | largest sample | target | |',
    '|---|---:|---:|---:|---|',
    ...checks.map(([label, value, max, target]) => `| ${label} | ${value === undefined ? '-' : `${fmt(100 * value, 2)} %`} | ${max === undefined ? '-' : `${fmt(100 * max, 2)} %`} | < ${100 * target} % | ${met(value, target)} |`),
    `| glass-to-publish latency drift | ${drift === undefined ? '-' : `${fmt(drift * 3600, 3)} s per hour`} | median ${fmt(median(latencies.map((sample) => sample.latency)), 2)} s, min ${fmt(Math.min(...latencies.map((sample) => sample.latency)), 2)}, max ${fmt(Math.max(...latencies.map((sample) => sample.latency)), 2)} | no drift | ${drift !== undefined && Math.abs(drift * 3600) < SEGMENT_SECONDS ? '**met**' : '**not met**'} |`,
    `| segments missing (from the final playlist, or from storage) | ${report.segments.missingInPlaylist + report.segments.missingInStorage} | of ${report.segments.listed} listed, ${report.segments.storedTop} stored | 0 | ${report.segments.missingInPlaylist + report.segments.missingInStorage === 0 ? '**met**' : '**not met**'} |`,
    `| segments duplicated | ${report.segments.duplicates} | | 0 | ${report.segments.duplicates === 0 ? '**met**' : '**not met**'} |`,
    '',
    `Encoder speed after ${WARMUP_MINUTES} minutes: median ${fmt(median(speeds), 2)}, min ${fmt(Math.min(...speeds), 2)}. The stream ${report.ended ? 'ended with #EXT-X-ENDLIST' : 'did NOT end with #EXT-X-ENDLIST'}; ingest ${report.ingestStoppedCleanly ? 'stopped cleanly on SIGTERM' : 'had to be killed'}. Single descriptor samples above the base are uploads in flight at that instant (a file and a socket each), closed again by the next samples.`,
    '',
    'Earlier runs of this benchmark found two leaks in `ingest`, both fixed: one file descriptor per failed S3 upload attempt (31 to 51 descriptors in 2.7 minutes), and one copy of the growing media playlist kept per segment (RSS 125 to 189 MB in 15 minutes, growing with the square of the stream\'s length). A third run, before the encoder\'s playlists were read only when changed, had RSS 8.5 % up (garbage from re-reading every playlist five times a second).',
    '',
    'One sample a minute:',
    '',
    '| minute | ingest RSS (MB) | ingest fds | encoder RSS (MB) | encoder fds | encoder speed | glass to publish (s) | segments stored (all rungs) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const sample of report.samples.filter((_, index) => index % Math.round(60 / SAMPLE_SECONDS) === Math.round(60 / SAMPLE_SECONDS) - 1)) {
    lines.push(`| ${fmt(sample.elapsed / 60, 0)} | ${fmt(sample.ingestRssMb, 0)} | ${sample.ingestFds} | ${fmt(sample.encoderRssMb, 0)} | ${sample.encoderFds} | ${fmt(sample.speed, 2)} | ${fmt(sample.latency, 2)} | ${sample.stored} |`)
  }

  lines.push('', '### Commands', '', '```sh', report.commands.ingest, report.commands.push, '```', '')
  return lines.join('\n')
}
