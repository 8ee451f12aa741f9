/**
 * Transcode benchmark: `livectl transcode` against the best hand-written single ffmpeg command
 * for the same ladder, and against one ffmpeg process per rung.
 *
 *   npm run bench:transcode                      builds, then runs 3 rounds on a 20 s 1080p30 clip
 *   npx tsx bench/transcode/main.ts --runs 5 --duration 20 --keep
 *
 * Contenders run alternately (livectl, single, per-rung, livectl, ...) so load drift hits all
 * alike. Writes the `## Transcode` section of BENCHMARKS.md.
 */
import {existsSync} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {DEFAULT_LADDER, STANDARD_RUNGS} from '../../src/lib/media/ladder.js'
import {buildTestClipArgs} from '../../src/lib/media/test-clip.js'
import {mediaTools} from '../../src/lib/media/tools.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {formatCommand, loadAverage, machineFacts, messageOf, writeSection} from '../support/report.js'
import {benchEnvironment, capture, type Command, ffmpegVersion, type RunOptions, runMeasured} from '../support/spawn.js'
import {summarize} from '../support/stats.js'
import {checkEquivalentOutputs, type Equivalence} from './check.js'
import {ALTERNATIVE_ID, BASELINE_ID, type ContenderId, LIVECTL_ID, type LadderRung, type Measurement, renderReport, type TranscodeOptions} from './report.js'

const WORK_DIR = '.bench-work'
const TIME_TARGET_MAX = 1.05
const PER_RUNG_TARGET_MIN = 1.25
const FRAME_RATE = 30

/**
 * livectl's default ladder, written out by hand from STANDARD_RUNGS in src/lib/media/ladder.ts
 * (checked against it at start so the baseline cannot drift silently). Sizes are what
 * planLadder gives a 1920x1080 source.
 */
const LADDER: readonly LadderRung[] = [
  {name: '1080p', width: 1920, height: 1080, videoKbps: 5000, maxRateKbps: 5350, bufferKbps: 7500, audioKbps: 128, profile: 'high'},
  {name: '720p', width: 1280, height: 720, videoKbps: 2800, maxRateKbps: 2996, bufferKbps: 4200, audioKbps: 128, profile: 'high'},
  {name: '480p', width: 854, height: 480, videoKbps: 1400, maxRateKbps: 1498, bufferKbps: 2100, audioKbps: 96, profile: 'main'},
  {name: '144p', width: 256, height: 144, videoKbps: 200, maxRateKbps: 214, bufferKbps: 300, audioKbps: 64, profile: 'baseline'},
]
const SEGMENT_SECONDS = 2
const GOP_FRAMES = String(FRAME_RATE * SEGMENT_SECONDS)

/** The per-rung encoder settings livectl uses (src/lib/media/transcode-args.ts), typed out by hand. */
function encoderArgs(rung: LadderRung): string[] {
  return [
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', rung.profile,
    '-b:v', `${rung.videoKbps}k`, '-maxrate', `${rung.maxRateKbps}k`, '-bufsize', `${rung.bufferKbps}k`,
    // Closed 2 s GOPs with keyframes exactly on segment boundaries, as livectl does.
    '-g', GOP_FRAMES, '-keyint_min', GOP_FRAMES, '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${SEGMENT_SECONDS})`, '-x264-params', 'open-gop=0',
    '-c:a', 'aac', '-b:a', `${rung.audioKbps}k`,
    '-f', 'mp4',
  ]
}

const COMMON_INPUT_ARGS = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'warning', '-nostats']

/**
 * (b) One process: decode once, then each rung scaled from the next larger one, as a careful hand
 * would and as livectl does: the 1080p rung takes the source picture unscaled, 720p is scaled from
 * the source, 480p from 720p (lanczos, a step of less than 2x), 144p from 480p. Audio resampled
 * once to 48 kHz like livectl.
 */
function singleProcessCommand(ffmpeg: string, source: string, outDir: string): Command[] {
  const audioTaps = LADDER.map((_, index) => `[a${index}]`).join('')
  const at = (name: string) => LADDER.findIndex((rung) => rung.name === name)
  const [i1080, i720, i480, i144] = [at('1080p'), at('720p'), at('480p'), at('144p')]
  const size = (index: number) => `${LADDER[index]?.width}:${LADDER[index]?.height}`
  const chains = [
    `[0:v:0]split=2[v${i1080}][s${i720}]`,
    `[s${i720}]scale=${size(i720)},split=2[v${i720}][s${i480}]`,
    `[s${i480}]scale=${size(i480)}:flags=lanczos,split=2[v${i480}][s${i144}]`,
    `[s${i144}]scale=${size(i144)}[v${i144}]`,
    `[0:a:0]aresample=48000,asplit=${LADDER.length}${audioTaps}`,
  ]
  const args = [...COMMON_INPUT_ARGS, '-i', source, '-filter_complex', chains.join(';')]
  LADDER.forEach((rung, index) => {
    args.push('-map', `[v${index}]`, '-map', `[a${index}]`, ...encoderArgs(rung), path.join(outDir, `${rung.name}.mp4`))
  })
  return [{file: ffmpeg, args}]
}

/** (c) One process per rung, all started together, each decoding the source itself. */
function perRungCommands(ffmpeg: string, source: string, outDir: string): Command[] {
  return LADDER.map((rung) => {
    const scale = rung.width === 1920 && rung.height === 1080 ? [] : ['-vf', `scale=${rung.width}:${rung.height}`]
    const args = [
      ...COMMON_INPUT_ARGS, '-i', source,
      '-map', '0:v:0', '-map', '0:a:0', ...scale, '-af', 'aresample=48000',
      ...encoderArgs(rung), path.join(outDir, `${rung.name}.mp4`),
    ]
    return {file: ffmpeg, args}
  })
}

/** (a) livectl itself, default ladder, --json so no progress is drawn. */
function livectlCommands(source: string, outDir: string): Command[] {
  return [{file: process.execPath, args: ['bin/run.js', 'transcode', source, '-o', outDir, '--json'], captureStdout: true}]
}

function parseOptions(): TranscodeOptions {
  const {values} = parseArgs({
    options: {
      runs: {type: 'string', default: '3'},
      duration: {type: 'string', default: '20'},
      keep: {type: 'boolean', default: false},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write('Usage: npx tsx bench/transcode/main.ts [--runs N (default 3)] [--duration SECONDS (default 20)] [--keep]\n')
    process.exit(0)
  }

  const runs = Number(values.runs)
  const durationSeconds = Number(values.duration)
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer (got ${values.runs})`)
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0 || durationSeconds > 600) {
    throw new Error(`--duration must be a number of seconds from 0 to 600 (got ${values.duration})`)
  }

  return {runs, durationSeconds, keep: values.keep}
}

/** What `livectl transcode --dry-run --json` says it would do (the fields read here). */
interface DryRun {
  plan: Array<{name: string; width: number; pixelHeight: number}>
  command: string[]
}

/** Fails if livectl's default ladder no longer matches the hand-written one. */
function assertLadderMatchesLivectl(plan: DryRun['plan']): void {
  const problems = []
  if (DEFAULT_LADDER.join(',') !== LADDER.map((rung) => rung.name).join(',')) problems.push(`default ladder is ${DEFAULT_LADDER.join(',')}`)
  for (const rung of LADDER) {
    const theirs = STANDARD_RUNGS.find((candidate) => candidate.name === rung.name)
    const planned = plan.find((candidate) => candidate.name === rung.name)
    const mine = [rung.videoKbps, rung.maxRateKbps, rung.bufferKbps, rung.audioKbps, rung.profile, rung.width, rung.height].join(' ')
    const livectl = theirs && planned
      ? [theirs.videoBitrateKbps, theirs.maxRateKbps, theirs.bufferSizeKbps, theirs.audioBitrateKbps, theirs.profile, planned.width, planned.pixelHeight].join(' ')
      : 'missing'
    if (mine !== livectl) problems.push(`${rung.name}: hand-written "${mine}", livectl "${livectl}"`)
  }

  if (problems.length > 0) throw new Error(`livectl's ladder changed; update LADDER in bench/transcode/main.ts:\n  ${problems.join('\n  ')}`)
}

async function ensureSourceClip(ffmpeg: string, durationSeconds: number, env: NodeJS.ProcessEnv): Promise<string> {
  const source = path.join(WORK_DIR, `camera-1080p30-${durationSeconds}s.mp4`)
  if (existsSync(path.join(REPO_ROOT, source))) return source
  const partial = path.join(WORK_DIR, `.partial-${process.pid}-${path.basename(source)}`)
  process.stdout.write(`Generating ${source} ...`)
  const args = buildTestClipArgs({width: 1920, height: 1080, frameRate: FRAME_RATE, durationSeconds, audio: 'stereo', encoding: 'camera', output: partial})
  const {wallSeconds} = await runMeasured([{file: ffmpeg, args}], {cwd: REPO_ROOT, env})
  await rename(path.join(REPO_ROOT, partial), path.join(REPO_ROOT, source))
  process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
  return source
}

interface Contender {
  id: ContenderId
  commands: (dir: string) => Command[]
  makesDir?: boolean
}

async function main(): Promise<void> {
  const options = parseOptions()
  // The same ffmpeg/ffprobe livectl resolves (LIVECTL_FFMPEG, ffmpeg-static, PATH), so only the orchestration differs.
  const {ffmpeg, ffprobe} = await mediaTools()
  const env = benchEnvironment()
  const run: RunOptions = {cwd: REPO_ROOT, env}

  await mkdir(path.join(REPO_ROOT, WORK_DIR, 'out'), {recursive: true})
  const source = await ensureSourceClip(ffmpeg, options.durationSeconds, env)
  const version = await ffmpegVersion(ffmpeg, run)

  // livectl's own ffmpeg command, for the report and to check the hand-written ladder against its plan.
  const outDir = (id: string, round: number | 'N') => path.join(WORK_DIR, 'out', `${id}-run${round}`)
  const dryRunArgs = ['bin/run.js', 'transcode', source, '-o', outDir(LIVECTL_ID, 'N'), '--dry-run', '--json']
  const dryRun = JSON.parse(await capture(process.execPath, dryRunArgs, run)) as DryRun
  assertLadderMatchesLivectl(dryRun.plan)

  const contenders: Contender[] = [
    {id: LIVECTL_ID, commands: (dir) => livectlCommands(source, dir), makesDir: true},
    {id: BASELINE_ID, commands: (dir) => singleProcessCommand(ffmpeg, source, dir)},
    {id: ALTERNATIVE_ID, commands: (dir) => perRungCommands(ffmpeg, source, dir)},
  ]

  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const measurements: Measurement[] = []
  let equivalence: Equivalence | undefined
  for (let round = 1; round <= options.runs; round += 1) {
    for (const contender of contenders) {
      const dir = outDir(contender.id, round)
      await rm(path.join(REPO_ROOT, dir), {recursive: true, force: true})
      // livectl creates its output directory itself (and refuses a non-empty foreign one).
      if (!contender.makesDir) await mkdir(path.join(REPO_ROOT, dir), {recursive: true})
      const result = await runMeasured(contender.commands(dir), run)
      measurements.push({round, id: contender.id, wallSeconds: result.wallSeconds, peakRssMb: result.peakRssMb, hwmSumMb: result.hwmSumMb, samples: result.samples})
      process.stdout.write(
        `round ${round}/${options.runs}  ${contender.id.padEnd(10)} ${result.wallSeconds.toFixed(2).padStart(7)} s  ` +
          `peak RSS ${result.peakRssMb.toFixed(0).padStart(5)} MB  (sum of VmHWM ${result.hwmSumMb.toFixed(0)} MB, ${result.samples} samples, load ${loadAverage()})\n`,
      )
    }

    if (round === 1) {
      const dirs = Object.fromEntries(contenders.map((contender) => [contender.id, path.join(REPO_ROOT, outDir(contender.id, round))]))
      equivalence = await checkEquivalentOutputs(ffprobe, LADDER.map((rung) => `${rung.name}.mp4`), dirs, LIVECTL_ID)
      process.stdout.write(`outputs equivalent: ${equivalence.ok ? 'yes' : `NO\n  ${equivalence.problems.join('\n  ')}`}\n`)
    }

    if (!options.keep) {
      for (const contender of contenders) await rm(path.join(REPO_ROOT, outDir(contender.id, round)), {recursive: true, force: true})
    }
  }

  const stats = Object.fromEntries(
    contenders.map(({id}) => {
      const mine = measurements.filter((measurement) => measurement.id === id)
      return [id, {wall: summarize(mine.map((m) => m.wallSeconds)), peakRss: summarize(mine.map((m) => m.peakRssMb)), hwmSum: summarize(mine.map((m) => m.hwmSumMb))}]
    }),
  )
  const section = renderReport({
    options,
    startedAt,
    loadAtStart,
    loadAtEnd: loadAverage(),
    machine: machineFacts(),
    ffmpeg: {path: ffmpeg, version},
    source,
    ladder: LADDER,
    stats,
    measurements,
    equivalence: equivalence ?? {ok: false, problems: ['not checked'], reference: {}},
    targets: {timeMax: TIME_TARGET_MAX, perRungMin: PER_RUNG_TARGET_MIN},
    commands: {
      [LIVECTL_ID]: livectlCommands(source, outDir(LIVECTL_ID, 'N')).map(({args}) => formatCommand('node', args)),
      livectlFfmpeg: formatCommand('ffmpeg', dryRun.command.slice(1).map((arg) => displayPath(arg, REPO_ROOT))),
      [BASELINE_ID]: singleProcessCommand('ffmpeg', source, outDir(BASELINE_ID, 'N')).map(({file, args}) => formatCommand(file, args)),
      [ALTERNATIVE_ID]: perRungCommands('ffmpeg', source, outDir(ALTERNATIVE_ID, 'N')).map(({file, args}) => formatCommand(file, args)),
    },
  })
  process.stdout.write(`\n${section}\n`)
  await writeSection(BENCHMARKS_FILE, section)
  process.stdout.write('Wrote the "## Transcode" section of BENCHMARKS.md\n')
}

/** Absolute paths under the repo shown relative to it, as the other commands are. */
function displayPath(arg: string, cwd: string): string {
  return arg.startsWith(cwd) ? path.relative(cwd, arg) || '.' : arg
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/transcode: ${messageOf(error)}\n`)
  process.exitCode = 1
}
