/**
 * The `## Live: glass to glass` section of BENCHMARKS.md, from the runs of bench/live/glass.ts.
 */
import type {MachineFacts} from '../support/report.js'
import {measuredAt} from '../support/report.js'
import {median, percentile} from '../support/stats.js'
import {type PlayerConfig, playerConfigs} from './glass-page.js'
import {STALL_AFTER_SECONDS, STALL_BEFORE_SECONDS} from './options.js'
import {PRESET} from './push.js'

export interface LatencyStatistics {
  samples: number
  median?: number
  p90?: number
  min?: number
  max?: number
}

/** The stall scenario's push: glass to glass before the origin was held, and after playback resumed. */
export interface StallResult {
  /** How long the origin answered nothing. */
  stallSeconds: number
  /** Frames presented from the end of the warm-up until the origin was held. */
  before: LatencyStatistics
  /** From the release to the first frame presented after it; undefined if none was. */
  resumedAfter?: number
  /** Glass to glass of that first frame. */
  resumedBehind?: number
  /** Frames presented in the STALL_AFTER_SECONDS from that first frame on. */
  after: LatencyStatistics
  /** How much of that window had frames (less than STALL_AFTER_SECONDS when the push ended first). */
  afterSpanSeconds: number
  /** Times the watch page took hls.js back to the live edge (its console warning). */
  edgeJumps: number
}

export interface GlassRun {
  round: number
  id: string
  label: string
  player: PlayerConfig['player']
  settings: Record<string, unknown>
  segmentSeconds: number
  partSeconds?: number
  videoId: string
  /** The page's data-player-kind. */
  kind?: string
  latency: LatencyStatistics
  latencies: number[]
  firstFrameShownAfter?: number
  framesRead: number
  misreads: number
  stalls: number
  heights: number[]
  playerError: string
  machineBusy: number
  stall?: StallResult
}

export interface GlassReport {
  startedAt: Date | string
  loadAtStart: string
  loadAtEnd: string
  machine: MachineFacts
  ffmpeg: {path: string; version: string}
  chromium: string
  options: {pushSeconds: number; segments: number[]; glassRounds: number; llParts: number[]; stallSeconds?: number; stallPushSeconds?: number}
  runs: GlassRun[]
  warmupSeconds: number
  ladder: readonly string[]
  commands: {ingest: string; ingestLowLatency?: string; serve: string; push: string}
}

export function statistics(values: readonly number[]): LatencyStatistics {
  if (values.length === 0) return {samples: 0}
  return {samples: values.length, median: median(values), p90: percentile(values, 0.9), min: Math.min(...values), max: Math.max(...values)}
}

const fmt = (value: number | undefined, digits = 2) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))

function stallMethod(report: GlassReport): string {
  return `- After a stall (\`--stall ${report.options.stallSeconds}\`): low latency as above at the first part duration, each push ${report.options.stallPushSeconds} s long; ` +
    `${report.warmupSeconds + STALL_BEFORE_SECONDS} s after the push began, every request of the page to the origin (the directory of the URL \`GET /videos/ID\` gives the player) is held for ${report.options.stallSeconds} s, then let through (playwright \`page.route\`, as the watch-page test does). ` +
    `Before: the frames presented from the end of the warm-up until the hold. After: the frames presented in the ${STALL_AFTER_SECONDS} s from the first frame presented after the release ("resumed"). ` +
    'Jumps: how often the watch page took hls.js back to the live edge after a stall left it past its catch-up range (its console warning); dash.js catches up by itself.'
}

function renderStalls(report: GlassReport): string[] {
  const stallRuns = report.runs.filter((run) => run.stall !== undefined)
  if (stallRuns.length === 0) return []
  const lines = [`### After a stall: the origin held ${report.options.stallSeconds} s, LL 2 s segments`, '']
  lines.push(`The ${report.options.glassRounds} push(es) of each player: the median of each push's median; then every push on its own.`, '')
  lines.push(`| player | before: median (s) | after ${STALL_AFTER_SECONDS} s: median (s) | after minus before (s) | after: p90 (s) | frames before / after | jumps to the live edge |`)
  lines.push('|---|---:|---:|---:|---:|---:|---:|')
  for (const id of [...new Set(stallRuns.map((run) => run.id))]) {
    const mine = stallRuns.filter((run) => run.id === id)
    const medianOf = (read: (stall: StallResult) => number | undefined) => median(mine.flatMap((run) => {
      const value = run.stall ? read(run.stall) : undefined
      return value === undefined ? [] : [value]
    }))
    const before = medianOf((stall) => stall.before.median)
    const after = medianOf((stall) => stall.after.median)
    const frames = (side: 'before' | 'after') => mine.reduce((sum, run) => sum + (run.stall?.[side].samples ?? 0), 0)
    const errors = mine.map((run) => run.playerError).filter(Boolean)
    lines.push(
      `| ${mine[0]?.label ?? id}${errors.length > 0 ? ` (error: ${errors.join('; ')})` : ''} | **${fmt(before)}** | **${fmt(after)}** | ${fmt(after - before)} | ${fmt(medianOf((stall) => stall.after.p90))} | ` +
        `${frames('before')} / ${frames('after')} | ${mine.reduce((sum, run) => sum + (run.stall?.edgeJumps ?? 0), 0)} |`,
    )
  }

  lines.push('', `| push | player | held (s) | before: median (s) | p90 | resumed after the release (s) | first frame then (s behind) | after ${STALL_AFTER_SECONDS} s: median (s) | p90 | max | frames after (span, s) | jumps | stalls |`)
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const run of stallRuns) {
    const stall = run.stall
    if (!stall) continue
    lines.push(
      `| ${run.round} | ${run.label} | ${fmt(stall.stallSeconds, 1)} | ${fmt(stall.before.median)} | ${fmt(stall.before.p90)} | ${fmt(stall.resumedAfter)} | ${fmt(stall.resumedBehind)} | ` +
        `${fmt(stall.after.median)} | ${fmt(stall.after.p90)} | ${fmt(stall.after.max)} | ${stall.after.samples} (${fmt(stall.afterSpanSeconds, 1)}) | ${stall.edgeJumps} | ${run.stalls} |`,
    )
  }

  lines.push('')
  return lines
}

export function renderGlass(report: GlassReport): string {
  const stallOption = report.options.stallSeconds === undefined ? '' : ` --stall ${report.options.stallSeconds}`
  const lines = [
    '## Live: glass to glass',
    '',
    `Measured ${measuredAt(new Date(report.startedAt))} with \`npx tsx bench/live/main.ts --glass --glass-rounds ${report.options.glassRounds} --push-seconds ${report.options.pushSeconds} --segments ${report.options.segments.join(',')}${stallOption}\` (\`npm run bench:live\` runs it after the glass-to-publish part).`,
    '',
    `- Machine: ${report.machine.cores} cores (nproc), ${report.machine.cpuModel}, ${report.machine.memoryGib.toFixed(1)} GiB RAM, ${report.machine.kernel}; Node ${report.machine.node}; Chromium ${report.chromium} (Debian, headless, software decoding and compositing), everything on this one machine.`,
    `- FFmpeg: ${report.ffmpeg.version} (\`${report.ffmpeg.path}\`). Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- **Glass to glass** of a frame: the wall time Chromium presented it, minus the wall time it was pushed. The push is the barcode clip of the Live section (1280x720 30 fps, frame number as a 16-bit barcode, 1 s GOPs, no B-frames; \`ffmpeg -re -c copy\` to \`livectl ingest\`), whose \`-progress\` reports give the wall time of media time 0; frame n was pushed n/30 s later. \`livectl ingest\` encodes the live ladder (${report.ladder.join(', ')}, x264 ${PRESET}) and publishes to a folder; \`livectl serve\` serves the watch page and the media from it on the same machine; the page (\`/watch/ID?player=hls|dash\`, a 1280x800 window, so the player may pick 720p) plays it. On each frame the browser presents, a \`requestVideoFrameCallback\` draws the barcode strip to a canvas and reads the number (each bit is drawn beside its complement, so a misread is detected and dropped, never mistaken); presented at \`performance.timeOrigin + expectedDisplayTime\`. Frames pushed in the first ${report.warmupSeconds} s (ingest start-up, player join) are not counted.`,
    '- Segment-only live (`ingest` without `--low-latency`, players reading storage through `serve`): each player with its default live settings, and with its low-latency knobs (merged by the watch page from `window.livectlPlayerSettings`). hls.js low-latency: `lowLatencyMode: true, liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3, maxLiveSyncPlaybackRate: 1.5`. dash.js low-latency: `streaming.delay.liveDelay` 1.5 segments, `liveCatchup` on with playback rate -0.2..+0.5.',
    '- Low latency (`ingest --low-latency --part-duration P`, 2 s segments): the page plays the ingest origin\'s LL-HLS (hls.js `lowLatencyMode`, catch-up up to 1.5x) or LL-DASH (dash.js, catch-up to the MPD\'s latency target) as `GET /videos/ID` hands it out; nothing is set by the benchmark.',
    '- Stalls: `waiting` events of the video element after the warm-up. Renditions: the picture heights that were presented.',
    ...(report.options.stallSeconds === undefined ? [] : [stallMethod(report)]),
    '',
  ]
  const llRuns = report.runs.filter((candidate) => candidate.partSeconds !== undefined && candidate.stall === undefined)
  if (llRuns.length > 0) {
    lines.push('### Low latency: LL-HLS and LL-DASH from the origin, 2 s segments', '')
    lines.push(`All frames counted in the ${report.options.glassRounds} push(es) of each player and part duration, pooled; then every push on its own.`, '')
    lines.push('| player | part duration (s) | median (s) | p90 (s) | min | max | frames counted | stalls | heights presented |')
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---|')
    for (const partSeconds of report.options.llParts) {
      for (const id of ['hls-ll', 'dash-ll'] as const) {
        const mine = llRuns.filter((run) => run.id === id && run.partSeconds === partSeconds)
        if (mine.length === 0) continue
        const pooled = statistics(mine.flatMap((run) => run.latencies))
        const heights = [...new Set(mine.flatMap((run) => run.heights))].sort((a, b) => b - a)
        const errors = mine.map((run) => run.playerError).filter(Boolean)
        lines.push(`| ${id === 'hls-ll' ? 'hls.js, LL-HLS' : 'dash.js, LL-DASH'}${errors.length > 0 ? ` (error: ${errors.join('; ')})` : ''} | ${partSeconds} | **${fmt(pooled.median)}** | **${fmt(pooled.p90)}** | ${fmt(pooled.min)} | ${fmt(pooled.max)} | ${pooled.samples} | ${mine.reduce((sum, run) => sum + run.stalls, 0)} | ${heights.join(', ')} |`)
      }
    }

    lines.push('', '| push | player | part (s) | median (s) | p90 (s) | frames counted | misread | first frame shown after (s) | stalls | heights | machine busy |')
    lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|')
    for (const run of llRuns) {
      lines.push(`| ${run.round} | ${run.label} | ${run.partSeconds} | ${fmt(run.latency.median)} | ${fmt(run.latency.p90)} | ${run.latency.samples} | ${run.misreads} | ${fmt(run.firstFrameShownAfter)} | ${run.stalls} | ${run.heights.join(', ')} | ${fmt(100 * run.machineBusy, 0)} % |`)
    }

    lines.push('')
  }

  lines.push(...renderStalls(report))
  for (const segmentSeconds of report.options.segments) {
    const runs = report.runs.filter((candidate) => candidate.segmentSeconds === segmentSeconds && candidate.partSeconds === undefined)
    lines.push(`### ${segmentSeconds} s segments`, '')
    lines.push(`All frames counted in the ${report.options.glassRounds} push(es) of each player and settings, pooled; then every push on its own.`, '')
    lines.push('| player and settings | median (s) | p90 (s) | min | max | frames counted | stalls | heights presented |')
    lines.push('|---|---:|---:|---:|---:|---:|---:|---|')
    for (const config of playerConfigs(segmentSeconds)) {
      const mine = runs.filter((run) => run.id === config.id)
      if (mine.length === 0) continue
      const pooled = statistics(mine.flatMap((run) => run.latencies))
      const heights = [...new Set(mine.flatMap((run) => run.heights))].sort((a, b) => b - a)
      const errors = mine.map((run) => run.playerError).filter(Boolean)
      lines.push(`| ${config.label}${errors.length > 0 ? ` (error: ${errors.join('; ')})` : ''} | **${fmt(pooled.median)}** | **${fmt(pooled.p90)}** | ${fmt(pooled.min)} | ${fmt(pooled.max)} | ${pooled.samples} | ${mine.reduce((sum, run) => sum + run.stalls, 0)} | ${heights.join(', ')} |`)
    }

    lines.push('', '| push | player and settings | median (s) | p90 (s) | frames counted | misread | first frame shown after (s) | stalls | heights | machine busy |')
    lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---|---:|')
    for (const run of runs) {
      lines.push(`| ${run.round} | ${run.label} | ${fmt(run.latency.median)} | ${fmt(run.latency.p90)} | ${run.latency.samples} | ${run.misreads} | ${fmt(run.firstFrameShownAfter)} | ${run.stalls} | ${run.heights.join(', ')} | ${fmt(100 * run.machineBusy, 0)} % |`)
    }

    lines.push('')
  }

  lines.push('### Commands', '', '```sh', report.commands.ingest, ...(report.commands.ingestLowLatency ? [report.commands.ingestLowLatency] : []), report.commands.serve, report.commands.push, '```', '')
  return lines.join('\n')
}
