/**
 * Live benchmark: glass-to-publish latency of `livectl ingest`, from a frame being pushed over RTMP
 * to the segment that holds it being in storage and listed in the live playlist, against plain
 * ffmpeg HLS packagers fed by the same push command; and how many ladder rungs this machine
 * encodes live in real time. Then glass to glass in a real player (glass.ts).
 *
 *   npm run bench:live                      builds, then runs the defaults (about 10 minutes)
 *   npx tsx bench/live/main.ts --push-seconds 36 --rung-seconds 30 --segments 2,1 [--skip-rungs] [--skip-same-push] [--keep]
 *
 * Every pushed picture carries its frame number as a 16-bit barcode in a strip at the top (each bit
 * drawn next to its complement, so a misread is detected). The pusher is `ffmpeg -re -c copy` of a
 * pre-encoded clip, so pushing costs no CPU; its `-progress` output (every 0.1 s) gives the wall
 * time at which each media second was sent. Each contender's live playlist is read every 20 ms and
 * the wall time each segment is first listed is recorded; afterwards the first frame of every
 * listed segment is decoded to read its frame number. Glass-to-publish of a frame = the wall time
 * its segment was first listed - the wall time the frame was sent.
 *
 * Writes the `## Live` section of BENCHMARKS.md.
 */
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'

import {buildLiveArgs} from '../../src/lib/ingest/live-args.js'
import {DEFAULT_LIVE_LADDER, planLadder, standardLadder} from '../../src/lib/media/ladder.js'
import {mediaTools} from '../../src/lib/media/tools.js'
import {clipArgs, createKey, ensureClip, FRAME_RATE, pushArgs, WORK_DIR} from '../support/live-push.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {formatCommand, loadAverage, machineFacts, messageOf, writeSection} from '../support/report.js'
import {benchEnvironment, ffmpegVersion} from '../support/spawn.js'
import {runGlass} from './glass.js'
import {DEFAULTS, parseOptions} from './options.js'
import {copyPackagerArgs, ingestArgs, ladderPackagerArgs, PRESET, runPush} from './push.js'
import {COPY, LADDER, LIVECTL, type LiveReport, type PushPlan, type PushResult, renderReport} from './report.js'
import {POLL_MS, WARMUP_SECONDS} from './watch.js'

/**
 * Ladders tried from a 1080p push to find how many rungs run live in real time: livectl's default
 * VOD ladder built up top-down, then the two other standard rungs added.
 */
const RUNG_LADDERS = [
  ['1080p'],
  ['1080p', '720p'],
  ['1080p', '720p', '480p'],
  ['1080p', '720p', '480p', '144p'],
  ['1080p', '720p', '480p', '360p', '144p'],
  ['1080p', '720p', '480p', '360p', '240p', '144p'],
]
/** Keeping up: the encoder's median speed over the steady part, and at most this much latency growth per second pushed. */
const REALTIME_SPEED_MIN = 0.97
const DRIFT_MAX = 0.03

function printRun(result: PushResult): void {
  process.stdout.write(`${result.label}: ${result.renditions.join(', ')}; machine CPU busy ${(100 * result.machineBusy).toFixed(0)} % during the push (load ${result.loadAfter})\n`)
  const fmt = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2))
  for (const r of Object.values(result.results)) {
    process.stdout.write(
      `  ${r.id.padEnd(14)} listed ${String(r.listed).padStart(3)} counted ${String(r.counted).padStart(3)}  first-frame median ${fmt(r.first.median)} p90 ${fmt(r.first.p90)}  ` +
        `last-frame median ${fmt(r.last.median)}  mean ${fmt(r.meanOverFrames)}  first segment after ${fmt(r.firstSegmentAfter)} s` +
        `${r.speed ? `  speed ${fmt(r.speed.median)} (min ${fmt(r.speed.min)}, max ${fmt(r.speed.max)})` : ''}${r.cpuCores === undefined ? '' : `  cores ${fmt(r.cpuCores)}`}\n`,
    )
  }

  for (const problem of result.problems) process.stdout.write(`  ! ${problem}\n`)
}

const SAVED_REPORT = path.join(WORK_DIR, 'report.json')

async function render(report: LiveReport): Promise<void> {
  const section = renderReport(report)
  process.stdout.write(`\n${section}\n`)
  await writeSection(BENCHMARKS_FILE, section)
  process.stdout.write('Wrote the "## Live" section of BENCHMARKS.md\n')
}

async function main(): Promise<void> {
  const options = parseOptions()
  if (options.renderOnly) {
    const saved = JSON.parse(await readFile(path.join(REPO_ROOT, SAVED_REPORT), 'utf8')) as LiveReport & {startedAt: string}
    return render({...saved, startedAt: new Date(saved.startedAt)})
  }

  if (options.glass) return runGlass(options)

  const {ffmpeg} = await mediaTools()
  const env = benchEnvironment()
  // livectl's default live ladder (the `--live-ladder` default of `livectl ingest`), passed explicitly.
  const liveLadder = [...DEFAULT_LIVE_LADDER]

  const dataDir = path.join(WORK_DIR, 'data')
  await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  await rm(path.join(REPO_ROOT, WORK_DIR, 'out'), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, dataDir), {recursive: true})
  const clip720 = {width: 1280, height: 720, seconds: options.pushSeconds, videoKbps: 4000}
  const clip1080 = {width: 1920, height: 1080, seconds: options.rungSeconds, videoKbps: 6000}
  const clips = {720: await ensureClip(ffmpeg, clip720, env), 1080: options.skipRungs ? '' : await ensureClip(ffmpeg, clip1080, env)}
  const version = await ffmpegVersion(ffmpeg)
  const key = await createKey(dataDir, env)
  const context = {ffmpeg, env, key, dataDir, keep: options.keep}

  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const runs: PushResult[] = []
  const plan: PushPlan[] = []
  const main720 = {clip: clips[720], clipSeconds: options.pushSeconds, width: 1280, height: 720, ladder: liveLadder}
  for (const segmentSeconds of options.segments) {
    plan.push(
      {...main720, kind: 'main', label: `${segmentSeconds}s-livectl`, segmentSeconds, ingest: LIVECTL, contenders: [LIVECTL, COPY]},
      {...main720, kind: 'main', label: `${segmentSeconds}s-ffmpeg`, segmentSeconds, ingest: 'relay', contenders: [LADDER, COPY]},
    )
    if (!options.skipSamePush) plan.push({...main720, kind: 'same-push', label: `${segmentSeconds}s-same-push`, segmentSeconds, ingest: LIVECTL, contenders: [LIVECTL, LADDER, COPY]})
  }

  if (!options.skipRungs) {
    for (const ladder of RUNG_LADDERS) {
      plan.push({clip: clips[1080], clipSeconds: options.rungSeconds, width: 1920, height: 1080, ladder, kind: 'rungs', label: `rungs-${ladder.length}`, segmentSeconds: 2, ingest: LIVECTL, contenders: [LIVECTL]})
    }
  }

  for (const [index, run] of plan.entries()) {
    process.stdout.write(`[${index + 1}/${plan.length}] ${run.label} ...\n`)
    const result = await runPush(context, run)
    printRun(result)
    runs.push(result)
  }

  // livectl keeps each stream's work folder (recording.ts and the encoder's segments) under the data dir: about 45 MB per push.
  if (!options.keep) await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  const sampleRenditions = planLadder({displayWidth: 1280, displayHeight: 720}, standardLadder(liveLadder))
  const report: LiveReport = {
    options,
    defaults: DEFAULTS,
    startedAt,
    loadAtStart,
    loadAtEnd: loadAverage(),
    machine: machineFacts(),
    ffmpeg: {path: ffmpeg, version},
    runs,
    constants: {warmupSeconds: WARMUP_SECONDS, pollMs: POLL_MS, preset: PRESET, liveLadder, realtimeSpeedMin: REALTIME_SPEED_MIN, driftMax: DRIFT_MAX, frameRate: FRAME_RATE},
    commands: {
      clip: formatCommand('ffmpeg', clipArgs({...clip720, output: clips[720]})),
      push: formatCommand('ffmpeg', pushArgs(clips[720], 'rtmp://127.0.0.1:PORT/live/KEY')),
      ingest: formatCommand('node', ingestArgs({dataDir, store: 'STORE', rtmpPort: 'PORT', metricsPort: 'MPORT', ladder: liveLadder, segmentSeconds: 2})),
      livectlFfmpeg: formatCommand('ffmpeg', buildLiveArgs({
        inputUrl: 'rtmp://127.0.0.1:PORT/live/KEY', renditions: sampleRenditions, hasAudio: true, frameRate: FRAME_RATE, segmentDurationSeconds: 2, preset: PRESET,
        manifestPath: 'WORKDIR/manifest.mpd', recordingPath: 'WORKDIR/recording.ts', readTimeoutSeconds: 5,
      })),
      copy: formatCommand('ffmpeg', copyPackagerArgs('rtmp://127.0.0.1:PORT/live/KEY', 'OUT', 2)),
      ladder: formatCommand('ffmpeg', ladderPackagerArgs({url: 'rtmp://127.0.0.1:PORT/live/KEY', renditions: sampleRenditions, segmentSeconds: 2, outDir: 'OUT'})),
      relay: formatCommand('node', ['bench/live/relay.mjs', 'PORT', 'STATE_DIR']),
    },
  }
  await writeFile(path.join(REPO_ROOT, SAVED_REPORT), `${JSON.stringify(report, null, 2)}\n`)
  await render(report)
  if (!options.skipGlass) await runGlass(options)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/live: ${messageOf(error)}\n`)
  process.exitCode = 1
}
