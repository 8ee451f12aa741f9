/**
 * The `## Live` section of BENCHMARKS.md, from the measurements of bench/live/main.ts.
 */
import type {MachineFacts} from '../support/report.js'
import {fence, measuredAt} from '../support/report.js'
import type {LiveOptions} from './options.js'
import type {ContenderResult} from './watch.js'

export const LIVECTL = 'livectl'
export const COPY = 'copy'
export const LADDER = 'ffmpeg-ladder'
export type ContenderId = typeof LIVECTL | typeof COPY | typeof LADDER

/** One push of the plan: the clip, the ladder, who receives it and who pulls it. */
export interface PushPlan {
  clip: string
  clipSeconds: number
  width: number
  height: number
  ladder: readonly string[]
  kind: 'main' | 'same-push' | 'rungs'
  label: string
  segmentSeconds: number
  /** livectl's ingest, or the plain relay. */
  ingest: typeof LIVECTL | 'relay'
  contenders: ContenderId[]
}

export interface PushResult extends Omit<PushPlan, 'clip'> {
  clip: undefined
  renditions: string[]
  results: Partial<Record<ContenderId, ContenderResult>>
  machineBusy: number
  problems: string[]
  logLines: string[]
  pushSeconds: number
  loadAfter: string
}

export interface LiveConstants {
  warmupSeconds: number
  pollMs: number
  preset: string
  liveLadder: readonly string[]
  realtimeSpeedMin: number
  driftMax: number
  frameRate: number
}

export interface LiveReport {
  options: LiveOptions
  defaults: {pushSeconds: number; rungSeconds: number; segments: number[]}
  startedAt: Date
  loadAtStart: string
  loadAtEnd: string
  machine: MachineFacts
  ffmpeg: {path: string; version: string}
  runs: PushResult[]
  constants: LiveConstants
  commands: Record<'clip' | 'push' | 'ingest' | 'livectlFfmpeg' | 'copy' | 'ladder' | 'relay', string>
}

/** The requirement: glass-to-publish under 1.5 segment durations plus 0.5 s, at the median. */
export const targetSeconds = (segmentSeconds: number) => 1.5 * segmentSeconds + 0.5

const NAMES: Record<string, string> = {
  [LIVECTL]: '`livectl ingest`, live ladder',
  [LADDER]: 'plain ffmpeg HLS packager, same ladder',
  [COPY]: 'plain ffmpeg HLS packager, copy only (floor)',
}

const s = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(2))
const signed = (value: number | undefined) => (value === undefined ? '-' : `${value >= 0 ? '+' : ''}${value.toFixed(3)}`)

/** Real time: the encoder keeps pace, the delay does not grow, and the stream stays within the latency target (a ladder that never works off its start-up backlog fails here). */
function keepsUp(result: ContenderResult | undefined, constants: LiveConstants, segmentSeconds: number): boolean {
  if (!result) return false
  return result.speed !== undefined && result.speed.median >= constants.realtimeSpeedMin &&
    result.drift !== undefined && result.drift <= constants.driftMax &&
    result.first.median !== undefined && result.first.median < targetSeconds(segmentSeconds)
}

function contenderRow(result: ContenderResult | undefined, where: string, run: PushResult): string {
  if (!result) return `| (no result) | ${where} |`
  const speed = result.speed ? `${s(result.speed.median)} (${s(result.speed.min)})` : '-'
  const cores = result.cpuCores === undefined ? '-' : s(result.cpuCores)
  return `| ${NAMES[result.id]} | ${where} | ${result.listed} / ${result.counted} | **${s(result.first.median)}** | ${s(result.first.p90)} | ${s(result.last.median)} | ${s(result.last.p90)} | ` +
    `${s(result.meanOverFrames)} | ${s(result.firstSegmentAfter)} | ${signed(result.drift)} | ${speed} | ${cores} | ${(100 * run.machineBusy).toFixed(0)} % |`
}

export function renderReport(report: LiveReport): string {
  const {options, defaults, machine, runs, constants} = report
  const smoke = options.pushSeconds !== defaults.pushSeconds || options.rungSeconds !== defaults.rungSeconds ||
    options.segments.join(',') !== defaults.segments.join(',') || options.skipRungs || options.skipSamePush
  const invocation = `npx tsx bench/live/main.ts --push-seconds ${options.pushSeconds} --rung-seconds ${options.rungSeconds} --segments ${options.segments.join(',')}` +
    `${options.skipRungs ? ' --skip-rungs' : ''}${options.skipSamePush ? ' --skip-same-push' : ''}${options.keep ? ' --keep' : ''}`
  const verdict = (ok: boolean) => (smoke ? `${ok ? 'met' : 'not met'} (smoke run: not a result)` : ok ? '**met**' : '**not met**')

  const lines = ['## Live', '']
  if (smoke) {
    lines.push(`> **Not the full benchmark** (\`${invocation}\`): run \`npm run bench:live\` for the real numbers.`, '')
  }

  lines.push(
    `Measured ${measuredAt(report.startedAt)} with \`${invocation}\` (\`npm run bench:live\` builds first and runs the defaults).`,
    '',
    `- Machine: ${machine.cores} cores (nproc), ${machine.cpuModel}, ${machine.memoryGib.toFixed(1)} GiB RAM, ${machine.kernel}; Node ${machine.node}.`,
    `- FFmpeg: ${report.ffmpeg.version} (\`${report.ffmpeg.path}\`), the binary livectl resolves, used by every process here.`,
    `- Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    '- **Glass-to-publish** of a frame: the wall time the segment holding it is first listed in the contender\'s live playlist (for livectl: `media_0.m3u8` of the top rung in the `--to` storage folder, ' +
      'which livectl writes only after the segment is in storage; for ffmpeg: the top rung\'s playlist in its output folder), minus the wall time the frame was pushed. ' +
      'Every pushed picture carries its frame number as a 16-bit barcode in a strip at the top (each bit next to its complement, so a misread is detected, never mistaken); ' +
      'after each push the first frame of every listed segment is decoded to read its number. The pusher reports every 0.1 s (`-progress`, `-stats_period 0.1`) how far it has sent; ' +
      'the least-delayed report gives the wall time of media time 0, and frame n was sent at that time + n/30 s (`-re` paces by timestamp; the clip has no B-frames). ' +
      `Playlists are read every ${constants.pollMs} ms, so listing times are late by ${constants.pollMs / 2} ms on average.`,
    '- **First frame** of a segment: the longest wait, what the requirement\'s target is checked against (the median over segments). **Last frame**: the shortest. ' +
      '**Mean over frames**: the average over every frame of the counted segments (about first-frame latency minus half a segment). ' +
      `Steady state only: segments whose first frame was pushed in the first ${constants.warmupSeconds} s (start-up: the ingest probes the stream and starts its encoder) ` +
      'and the last segment (closed by the end of the push, not by the next keyframe) are left out of the statistics; all are in the per-segment lists below. ' +
      '"First segment listed" is from the first frame pushed to the first segment listed, start-up included.',
    `- The push: \`ffmpeg -re -i CLIP -c copy -f flv\` of a pre-encoded ${options.pushSeconds} s 1280x720 30 fps clip (lavfi testsrc2 with the barcode, x264 veryfast High profile 4 Mbit/s, ` +
      '1 s closed GOPs, no B-frames, AAC 128k stereo 48 kHz), so the pusher itself costs almost no CPU. The same command pushes every time.',
    '- Contenders and fairness: every push is the same command on the same clip, and a plain ffmpeg copy-only HLS packager (`-c copy`, the floor: no encoding at all) pulls every push, so each push has a common reference. Per segment duration, three pushes in a row: ' +
      '(1) to `livectl ingest` (stream key, `--to` a local folder, `--reconnect-grace 0`), the copy packager pulling from livectl\'s RTMP server; ' +
      '(2) to a plain node-media-server (`bench/live/relay.mjs`, the same RTMP settings as livectl\'s: chunk size 60000, GOP cache on), pulled by the copy packager and by a plain ffmpeg that encodes the same ladder with **exactly livectl\'s encoder arguments** ' +
      `(taken from livectl's own \`buildLiveArgs\`: one decode, \`split\`, x264 ${constants.preset} \`-tune zerolatency\`, one closed GOP per segment) and writes fMP4 HLS straight into its folder (the hls muxer instead of livectl's dash muxer plus publisher); ` +
      '(3) "same push": to `livectl ingest`, with the plain ffmpeg ladder and the copy packager pulling from livectl\'s server at the same time, so livectl and plain ffmpeg see exactly the same frames at the same moments; the two ladders then share the cores (see the CPU columns). ' +
      '(1) and (2) give each ladder the machine to itself; the target is checked on (1). The plain packagers start pulling as soon as the push flows; livectl starts on its server\'s publish event and probes the stream first. ' +
      'The ffmpeg packagers list a segment the moment they write it; livectl\'s ffmpeg writes into a work folder, and livectl\'s publisher looks there for completed segments every 200 ms (the default `pollMs` of `runLiveSession`), ' +
      'copies each new segment into storage, then rewrites the playlists.',
    `- Live ladder: livectl's default \`--live-ladder ${constants.liveLadder.join(',')}\` (${runs.find((run) => run.kind === 'main')?.renditions.join(', ') ?? '-'}), preset ${constants.preset}, AAC 128k. ` +
      'Encoder speed: media seconds encoded per wall second over sliding 5 s windows in the steady part (livectl: its `livectl_live_encoder_speed` gauge from `--metrics-port`, scraped every second; ffmpeg: its `-progress`), median (min). ' +
      'CPU cores: CPU seconds of the contender\'s process tree (for livectl: the Node ingest process, its ffmpeg and ffprobe) per wall second of the push. Machine busy: all cores, from /proc/stat.',
    '',
  )

  for (const segmentSeconds of options.segments) {
    const own = runs.filter((run) => run.segmentSeconds === segmentSeconds && run.kind !== 'rungs')
    const livectlRun = own.find((run) => run.kind === 'main' && run.ingest === LIVECTL)
    const ffmpegRun = own.find((run) => run.kind === 'main' && run.ingest !== LIVECTL)
    const sameRun = own.find((run) => run.kind === 'same-push')
    lines.push(
      `### ${segmentSeconds} s segments`,
      '',
      '| contender | push | segments listed / counted | first-frame median (s) | first-frame p90 | last-frame median | last-frame p90 | mean over frames | first segment listed (s) | latency drift (s/s) | encoder speed median (min) | CPU cores | machine busy |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    )
    if (livectlRun) {
      lines.push(contenderRow(livectlRun.results[LIVECTL], '(1) to livectl', livectlRun))
      lines.push(contenderRow(livectlRun.results[COPY], '(1) to livectl', livectlRun))
    }

    if (ffmpegRun) {
      lines.push(contenderRow(ffmpegRun.results[LADDER], '(2) to plain relay', ffmpegRun))
      lines.push(contenderRow(ffmpegRun.results[COPY], '(2) to plain relay', ffmpegRun))
    }

    if (sameRun) {
      for (const id of [LIVECTL, LADDER, COPY] as const) lines.push(contenderRow(sameRun.results[id], '(3) same push, to livectl', sameRun))
    }

    const target = targetSeconds(segmentSeconds)
    const livectlMedian = livectlRun?.results[LIVECTL]?.first.median
    const ffmpegMedian = ffmpegRun?.results[LADDER]?.first.median
    lines.push(
      '',
      `| check (${segmentSeconds} s segments) | value (s) | target (s) | |`,
      '|---|---:|---:|---|',
      `| livectl ladder, median first-frame glass-to-publish, push (1) | ${s(livectlMedian)} | < ${s(target)} (1.5 x ${segmentSeconds} + 0.5) | ${livectlMedian === undefined ? 'no data' : verdict(livectlMedian < target)} |`,
      `| plain ffmpeg ladder, the same, push (2) (for reference) | ${s(ffmpegMedian)} | < ${s(target)} | ${ffmpegMedian === undefined ? 'no data' : ffmpegMedian < target ? 'under' : 'over'} |`,
      `| livectl minus plain ffmpeg ladder (medians, pushes 1 and 2): livectl's publisher | ${livectlMedian === undefined || ffmpegMedian === undefined ? '-' : signed(livectlMedian - ffmpegMedian)} | | |`,
    )
    const copyMedian = ffmpegRun?.results[COPY]?.first.median
    if (ffmpegMedian !== undefined && copyMedian !== undefined) {
      lines.push(
        `| plain ffmpeg ladder minus copy only (medians, push 2): the encoder | ${signed(ffmpegMedian - copyMedian)} | | |`,
        `| copy only minus one segment (median, push 2): relay, demuxer and muxer | ${signed(copyMedian - segmentSeconds)} | | |`,
      )
    }
    if (sameRun) {
      const a = sameRun.results[LIVECTL]?.first.median
      const b = sameRun.results[LADDER]?.first.median
      lines.push(`| livectl minus plain ffmpeg ladder, same push (3), both ladders on the same 2 cores | ${a === undefined || b === undefined ? '-' : signed(a - b)} | | |`)
    }

    lines.push('')
  }

  const rungRuns = runs.filter((run) => run.kind === 'rungs')
  if (rungRuns.length > 0) {
    let realtime = 0
    for (const run of rungRuns) {
      if (keepsUp(run.results[LIVECTL], constants, run.segmentSeconds)) realtime = Math.max(realtime, run.ladder.length)
      else break
    }

    lines.push(
      '### Rungs encoded live in real time',
      '',
      `A ${options.rungSeconds} s 1920x1080 30 fps push (same barcode clip, 6 Mbit/s) to \`livectl ingest\` with ${rungRuns.map((run) => run.ladder.length).join(', ')} rungs of its standard ladder: ` +
        `livectl's default ladder (1080p, 720p, 480p, 144p) built up top-down, then 360p and 240p added; 2 s segments, preset ${constants.preset}. ` +
        'Speed max is the highest 5 s window of the whole push, start-up included: while the encoder works off the backlog it gathered during start-up it runs as fast as it can, so a max near 1.0 means little headroom. ' +
        `A ladder runs in real time when the encoder's median speed in the steady part is at least ${constants.realtimeSpeedMin}, the first-frame latency grows by at most ${constants.driftMax} s per second pushed ` +
        '(least-squares slope over the counted segments; an encoder at 0.9x real time drifts by about 0.1 s/s), and the median first-frame latency stays under the target (3.5 s for 2 s segments): ' +
        'an encoder with no headroom never works off the backlog it gathers at start-up and stays seconds behind the live edge even when it no longer drifts. ' +
        'The picture is testsrc2, which x264 encodes more cheaply than camera footage: treat the count as an upper bound for real content. ' +
        'Machine busy stays well under 100 % even at the limit, most likely because one ffmpeg 5.1 process runs the scaling and the rungs\' encoder calls one after another on one thread (x264 slice-threads each frame under `-tune zerolatency`), so a single live stream cannot fill both cores.',
      '',
      '| rungs | ladder | encoder speed median (min) | speed max (start-up) | latency drift (s/s) | first-frame median (s) | first-frame p90 | CPU cores (livectl tree) | machine busy | "falling behind" logged | real time |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|',
    )
    for (const run of rungRuns) {
      const result = run.results[LIVECTL]
      if (!result) continue
      const behind = run.logLines.filter((line) => /falling behind/.test(line)).length
      lines.push(
        `| ${run.ladder.length} | ${run.renditions.join(', ')} | ${result.speed ? `${s(result.speed.median)} (${s(result.speed.min)})` : '-'} | ${s(result.speed?.max)} | ${signed(result.drift)} | ${s(result.first.median)} | ${s(result.first.p90)} | ` +
          `${s(result.cpuCores)} | ${(100 * run.machineBusy).toFixed(0)} % | ${behind > 0 ? `yes (${behind}x)` : 'no'} | ${keepsUp(result, constants, run.segmentSeconds) ? 'yes' : '**no**'} |`,
      )
    }

    const mostRungs = rungRuns.at(-1)?.ladder.length
    lines.push(
      '',
      `**This machine (${machine.cores} cores) encodes ${realtime === mostRungs ? `all ${realtime} rungs tried` : `${realtime} rung${realtime === 1 ? '' : 's'}`} live in real time** ` +
        `from a 1080p30 push with livectl's ladder at preset ${constants.preset}${realtime === mostRungs ? ' (the limit is beyond the ladders tried)' : ''}${smoke ? ' (smoke run: not a result)' : ''}.`,
      '',
    )
  }

  lines.push('### Per segment', '', 'First-frame glass-to-publish of every segment listed, in order, in seconds; a `*` marks the segments counted in the statistics (steady state).', '')
  for (const run of runs) {
    for (const result of Object.values(run.results)) {
      const series = result.rows.map((row) => `${s(row.firstLatency)}${row.counted ? '*' : ''}`).join(' ')
      lines.push(`- ${run.label}, ${result.id}: ${series || '(none)'}`)
    }
  }

  const problems = runs.flatMap((run) => run.problems.map((problem) => `- ${run.label}: ${problem}`))
  lines.push(
    '',
    '### Warnings and errors seen',
    '',
    'Everything the plain packagers printed to stderr (last lines) and every livectl log line with "fail", "error", "behind" or "refused". ' +
      'A copy or ladder packager that pulls from `livectl ingest` ends with `Input/output error` by design: when the broadcaster leaves, livectl closes every subscriber of the stream so its own encoder sees the end.',
    '',
    ...(problems.length > 0 ? problems : ['- None.']),
    '',
  )

  const {commands} = report
  lines.push(
    '### Commands',
    '',
    'The clip (generated once into `.bench-work/live/`; the 1080p one likewise at 1920x1080, 6 Mbit/s):',
    '',
    ...fence([commands.clip]),
    '',
    'The push (the same for every contender):',
    '',
    ...fence([commands.push]),
    '',
    '(1) and (3) `livectl ingest` (2 s shown; `keys create bench-live --json` made the key), and the ffmpeg command it runs for each push (from its `buildLiveArgs`; 720p source):',
    '',
    ...fence([commands.ingest, commands.livectlFfmpeg]),
    '',
    '(2) the plain relay, the plain ffmpeg ladder packager (livectl\'s encoder arguments up to its `-f dash`, then the hls muxer), and the copy-only packager that runs in every push:',
    '',
    ...fence([commands.relay, commands.ladder, commands.copy]),
    '',
  )
  return lines.join('\n')
}
