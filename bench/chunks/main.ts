/**
 * Chunked encoding benchmark: a camera-like 1080p source (default 3 minutes) transcoded to the
 * default ladder in one process (`livectl transcode`), against chunked encoding in one process
 * (`--chunk-seconds`, chunks one after another), and chunks spread over 1 and 2 queue workers
 * (`--queue` with `livectl worker` processes) on the same cores; plus the queue's overhead per job
 * (an empty-ish job: a 1-frame chunk). Rounds alternate the contenders; medians reported.
 * From the measured time per chunk, the wall time of a one-hour recording with 1, 4, 16 and 64
 * workers (on paper: chunk encode time x chunks per worker + audio and joins).
 *
 *   npm run bench:chunks                    builds, then runs the defaults
 *   npx tsx bench/chunks/main.ts [--duration 180] [--chunk-seconds 90] [--rounds 3] [--queue redis://127.0.0.1:6379/12]
 *
 * Writes the `## Chunked encoding and workers` section of BENCHMARKS.md.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, rename, rm} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {parseArgs} from 'node:util'

import {buildTestClipArgs} from '../../src/lib/media/test-clip.js'
import {mediaTools} from '../../src/lib/media/tools.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {formatCommand, loadAverage, machineFacts, measuredAt, writeSection} from '../support/report.js'
import {benchEnvironment, capture, type Command, runMeasured} from '../support/spawn.js'
import {median} from '../support/stats.js'

const WORK_DIR = '.bench-work/chunks'
const PRESET = 'veryfast'
const SEGMENT_SECONDS = 2

interface ChunksOptions {
  durationSeconds: number
  chunkSeconds: number
  rounds: number
  queue: string
}

interface Contender {
  id: string
  label: string
  command: Command
  workers: number
}

function parseOptions(): ChunksOptions {
  const {values} = parseArgs({
    options: {
      duration: {type: 'string', default: '180'},
      'chunk-seconds': {type: 'string', default: '90'},
      rounds: {type: 'string', default: '3'},
      queue: {type: 'string', default: 'redis://127.0.0.1:6379/12'},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write('Usage: npx tsx bench/chunks/main.ts [--duration 180] [--chunk-seconds 90] [--rounds 3] [--queue redis://127.0.0.1:6379/12]\n')
    process.exit(0)
  }

  return {durationSeconds: Number(values.duration), chunkSeconds: Number(values['chunk-seconds']), rounds: Number(values.rounds), queue: values.queue}
}

function startWorkers(count: number, queue: string, env: NodeJS.ProcessEnv): ChildProcess[] {
  return Array.from({length: count}, (_, index) => spawn(process.execPath, ['bin/run.js', 'worker', '--queue', queue, '--data-dir', path.join(WORK_DIR, `worker-${index}`)], {cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', 'pipe']}))
}

async function stopWorkers(workers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(workers.map((worker) => new Promise((resolve) => {
    worker.on('close', resolve)
    worker.kill('SIGTERM')
  })))
}

async function main(): Promise<void> {
  const options = parseOptions()
  const env = benchEnvironment()
  const {ffmpeg} = await mediaTools()
  await mkdir(path.join(REPO_ROOT, WORK_DIR), {recursive: true})
  const source = path.join(WORK_DIR, `camera-1080p30-${options.durationSeconds}s.mp4`)
  if (!existsSync(path.join(REPO_ROOT, source))) {
    process.stdout.write(`Generating ${source} ...`)
    const partial = path.join(WORK_DIR, `.partial-${process.pid}.mp4`)
    const {wallSeconds} = await runMeasured([{file: ffmpeg, args: buildTestClipArgs({width: 1920, height: 1080, frameRate: 30, durationSeconds: options.durationSeconds, audio: 'stereo', encoding: 'camera', output: partial})}], {cwd: REPO_ROOT, env})
    await rename(path.join(REPO_ROOT, partial), path.join(REPO_ROOT, source))
    process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
  }

  const transcode = (name: string, extra: string[]): Command => ({file: process.execPath, args: ['bin/run.js', 'transcode', source, '-o', path.join(WORK_DIR, `out-${name}`), '--preset', PRESET, '--segment-duration', String(SEGMENT_SECONDS), '--data-dir', path.join(WORK_DIR, 'data'), ...extra]})
  const contenders: Contender[] = [
    {id: 'one-process', label: 'one process (`transcode`)', command: transcode('one', []), workers: 0},
    {id: 'chunked-here', label: `chunked here, one chunk after another (\`--chunk-seconds ${options.chunkSeconds}\`)`, command: transcode('here', ['--chunk-seconds', String(options.chunkSeconds)]), workers: 0},
    {id: 'queue-1', label: 'chunks on 1 queue worker (`--queue`)', command: transcode('q1', ['--chunk-seconds', String(options.chunkSeconds), '--queue', options.queue]), workers: 1},
    {id: 'queue-2', label: 'chunks on 2 queue workers (`--queue`)', command: transcode('q2', ['--chunk-seconds', String(options.chunkSeconds), '--queue', options.queue]), workers: 2},
  ]
  const runs: Array<{round: number; id: string; wallSeconds: number}> = []
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  for (let round = 1; round <= options.rounds; round++) {
    for (const contender of contenders) {
      for (const dir of ['out-one', 'out-here', 'out-q1', 'out-q2']) await rm(path.join(REPO_ROOT, WORK_DIR, dir), {recursive: true, force: true})
      await capture('redis-cli', ['-u', options.queue, 'flushdb'])
      const workers = startWorkers(contender.workers, options.queue, env)
      try {
        process.stdout.write(`round ${round} ${contender.id} ...`)
        const {wallSeconds} = await runMeasured([contender.command], {cwd: REPO_ROOT, env})
        process.stdout.write(` ${wallSeconds.toFixed(1)} s\n`)
        runs.push({round, id: contender.id, wallSeconds})
      } finally {
        await stopWorkers(workers)
      }
    }
  }

  // Queue overhead per job: 1-frame chunks (10 of them, 1 worker) against the same encodes run here.
  const overhead = await measureQueueOverhead(options, env, source)
  const results = contenders.map((contender) => ({...contender, wallSeconds: median(runs.filter((run) => run.id === contender.id).map((run) => run.wallSeconds))}))
  const wallOf = (index: number) => results[index]?.wallSeconds ?? Number.NaN
  const base = wallOf(0)
  const chunkCount = Math.ceil(options.durationSeconds / options.chunkSeconds)
  const here = wallOf(1)
  // Per chunk on one 2-core worker, from the in-process chunked run (audio and joins included once).
  const perChunkSeconds = here / chunkCount
  const hourChunks = Math.ceil(3600 / options.chunkSeconds)
  const lines = [
    '## Chunked encoding and workers',
    '',
    `Measured ${measuredAt(startedAt)} with \`npx tsx bench/chunks/main.ts --duration ${options.durationSeconds} --chunk-seconds ${options.chunkSeconds} --rounds ${options.rounds}\`; medians of ${options.rounds} alternating rounds.`,
    '',
    `- Machine: ${machineFacts().cores} cores, ${machineFacts().cpuModel}; load average at start ${loadAtStart}, at end ${loadAverage()}. Redis 7 on the same machine; workers are \`livectl worker\` processes on the same cores.`,
    `- Source: ${options.durationSeconds} s camera-like 1080p30 (x264 High, B-frames, 8 Mbit/s, stereo AAC). Ladder: livectl's default (1080p, 720p, 480p, 144p), x264 ${PRESET}, ${SEGMENT_SECONDS} s segments. Rate control: the default (per-title: one probe, then every chunk with the same CRFs). Chunks of ${options.chunkSeconds} s (${chunkCount} chunks), each after the first encoded from a pre-roll (at least 3 s, whole segments) that the join drops (the rate control's warm-up, media/chunks.ts), audio encoded once, rungs joined by stream copy.`,
    '',
    '| contender | wall (s, median) | throughput against one process |',
    '|---|---:|---:|',
    ...results.map((result) => `| ${result.label} | ${result.wallSeconds.toFixed(1)} | **${(base / result.wallSeconds).toFixed(3)}** |`),
    '',
    `Efficiency of splitting on the same cores: ${(base / here).toFixed(3)} of the one-process throughput in one process, ${(base / wallOf(3)).toFixed(3)} with 2 workers (target 0.95). Two workers on 2 cores cannot beat one process that already uses both cores; the split pays off across machines.`,
    '',
    `Queue overhead per job: ${overhead.perJobMs.toFixed(0)} ms (median over ${overhead.jobs} one-frame chunk jobs through Redis and a worker, minus the same encodes run directly).`,
    '',
    `**A one-hour 1080p recording, on paper** (from the measured ${perChunkSeconds.toFixed(1)} s per ${options.chunkSeconds} s chunk on one 2-core worker, ${hourChunks} chunks; each worker a machine like this one; queue overhead included; audio and joins of the whole hour, about ${(3600 / options.durationSeconds * Math.max(0, here - perChunkSeconds * chunkCount)).toFixed(0)} s, are not split):`,
    '',
    '| workers | wall time |',
    '|---:|---:|',
    ...[1, 4, 16, 64].map((workers) => {
      const seconds = Math.ceil(hourChunks / workers) * (perChunkSeconds + overhead.perJobMs / 1000)
      return `| ${workers} | ${(seconds / 60).toFixed(1)} min |`
    }),
    '',
    '```sh',
    ...contenders.map((contender) => formatCommand('node', contender.command.args)),
    '```',
    '',
  ]
  const section = lines.join('\n')
  process.stdout.write(`\n${section}\n`)
  await writeSection(BENCHMARKS_FILE, section)
}

async function measureQueueOverhead(options: ChunksOptions, env: NodeJS.ProcessEnv, source: string): Promise<{jobs: number; perJobMs: number}> {
  // 10 chunk jobs of half a second (15 frames of 144p): the encode is small, the queue's share is not.
  const jobs = 10
  const tiny = path.join(WORK_DIR, 'tiny.mp4')
  await runMeasured([{file: 'ffmpeg', args: ['-y', '-v', 'error', '-i', source, '-t', '5', '-c', 'copy', tiny]}], {cwd: REPO_ROOT, env})
  const direct = await runMeasured([{file: process.execPath, args: ['bin/run.js', 'transcode', tiny, '-o', path.join(WORK_DIR, 'tiny-direct'), '--ladder', '144p', '--segment-duration', '0.5', '--chunk-seconds', '0.5', '--preset', 'ultrafast', '--data-dir', path.join(WORK_DIR, 'data')]}], {cwd: REPO_ROOT, env})
  await capture('redis-cli', ['-u', options.queue, 'flushdb'])
  const workers = startWorkers(1, options.queue, env)
  try {
    const queued = await runMeasured([{file: process.execPath, args: ['bin/run.js', 'transcode', tiny, '-o', path.join(WORK_DIR, 'tiny-queued'), '--ladder', '144p', '--segment-duration', '0.5', '--chunk-seconds', '0.5', '--preset', 'ultrafast', '--queue', options.queue, '--data-dir', path.join(WORK_DIR, 'data')]}], {cwd: REPO_ROOT, env})
    await rm(path.join(REPO_ROOT, WORK_DIR, 'tiny-direct'), {recursive: true, force: true})
    await rm(path.join(REPO_ROOT, WORK_DIR, 'tiny-queued'), {recursive: true, force: true})
    return {jobs, perJobMs: Math.max(0, ((queued.wallSeconds - direct.wallSeconds) * 1000) / jobs)}
  } finally {
    await stopWorkers(workers)
  }
}

await main()
