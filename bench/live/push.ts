/**
 * One push of the glass-to-publish part of bench/live, and the commands of its contenders: livectl's
 * ingest, a plain relay, and the plain ffmpeg packagers that pull from either.
 */
import type {Buffer} from 'node:buffer'
import {existsSync} from 'node:fs'
import {mkdir, readdir, rm} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'

import {buildLiveArgs} from '../../src/lib/ingest/live-args.js'
import {planLadder, type PlannedRendition, standardLadder} from '../../src/lib/media/ladder.js'
import {type FfmpegHandle, FRAME_RATE, now, pushArgs, pushStartOf, startFfmpeg, WORK_DIR} from '../support/live-push.js'
import {freePort} from '../support/net.js'
import {REPO_ROOT} from '../support/paths.js'
import {busyShare, machineCpuTicks, treeCpuSeconds} from '../support/proc.js'
import {loadAverage} from '../support/report.js'
import {type ProcessExit, type RunningServer, startServerProcess, stopProcess} from '../support/spawn.js'
import {median} from '../support/stats.js'
import {COPY, type ContenderId, LADDER, LIVECTL, type PushPlan, type PushResult} from './report.js'
import {analyseWatcher, type ContenderResult, createWatcher, type SpeedSample, startMetricsScraper, startPolling, type Watcher, WARMUP_SECONDS, windowRates} from './watch.js'

export const PRESET = 'veryfast'

/** What every push of one session shares. */
export interface PushContext {
  ffmpeg: string
  env: NodeJS.ProcessEnv
  key: string
  dataDir: string
  keep: boolean
}

export function copyPackagerArgs(url: string, outDir: string, segmentSeconds: number): string[] {
  return [
    '-hide_banner', '-nostdin', '-y', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1',
    '-rw_timeout', '5000000', '-fflags', '+nobuffer', '-i', url,
    '-map', '0:v:0', '-map', '0:a:0', '-c', 'copy',
    '-f', 'hls', '-hls_time', String(segmentSeconds), '-hls_list_size', '0', '-hls_segment_type', 'fmp4',
    '-hls_flags', 'independent_segments+temp_file', '-hls_fmp4_init_filename', 'init.mp4',
    '-hls_segment_filename', path.join(outDir, 'seg-%05d.m4s'), path.join(outDir, 'index.m3u8'),
  ]
}

/** livectl's own live encoder arguments (buildLiveArgs, so the encoding cannot drift), packaged by ffmpeg's hls muxer into the folder instead. */
export function ladderPackagerArgs({url, renditions, segmentSeconds, outDir}: {url: string; renditions: readonly PlannedRendition[]; segmentSeconds: number; outDir: string}): string[] {
  const args = buildLiveArgs({
    inputUrl: url, renditions, hasAudio: true, frameRate: FRAME_RATE, segmentDurationSeconds: segmentSeconds, preset: PRESET,
    manifestPath: 'unused.mpd', recordingPath: 'unused.ts', readTimeoutSeconds: 5,
  })
  const muxer = args.findIndex((arg, index) => arg === '-f' && args[index + 1] === 'dash')
  if (muxer === -1) throw new Error('buildLiveArgs no longer writes -f dash: update ladderPackagerArgs in bench/live/push.ts')
  return [
    ...args.slice(0, muxer),
    '-f', 'hls', '-hls_time', String(segmentSeconds), '-hls_list_size', '0', '-hls_segment_type', 'fmp4',
    '-hls_flags', 'independent_segments+temp_file', '-hls_fmp4_init_filename', 'init.mp4',
    '-master_pl_name', 'master.m3u8',
    '-var_stream_map', [...renditions.map((_, index) => `v:${index},agroup:audio`), 'a:0,agroup:audio'].join(' '),
    '-hls_segment_filename', path.join(outDir, 'v%v', 'seg-%05d.m4s'), path.join(outDir, 'v%v', 'index.m3u8'),
  ]
}

export function ingestArgs({dataDir, store, rtmpPort, metricsPort, ladder, segmentSeconds}: {
  dataDir: string
  store: string
  rtmpPort: number | string
  metricsPort: number | string
  ladder: readonly string[]
  segmentSeconds: number
}): string[] {
  return [
    'bin/run.js', 'ingest', '--data-dir', dataDir, '--to', store, '--rtmp-port', String(rtmpPort),
    '--live-ladder', ladder.join(','), '--segment-duration', String(segmentSeconds), '--preset', PRESET,
    '--reconnect-grace', '0', '--metrics-port', String(metricsPort),
  ]
}

/**
 * One push of `clip` and the contenders that receive it:
 *   ingest 'livectl': livectl's ingest server receives the push (stream key); the others pull it from there.
 *   ingest 'relay':   a plain node-media-server (bench/live/relay.mjs) receives it; the ffmpeg packagers pull from it.
 */
export async function runPush(context: PushContext, run: PushPlan): Promise<PushResult> {
  const {ffmpeg, env, key, dataDir} = context
  const runDir = path.join(WORK_DIR, 'out', run.label)
  await rm(path.join(REPO_ROOT, runDir), {recursive: true, force: true})
  const dirs = {store: path.join(runDir, 'store'), copy: path.join(runDir, 'copy'), ladder: path.join(runDir, 'ladder')}
  for (const dir of Object.values(dirs)) await mkdir(path.join(REPO_ROOT, dir), {recursive: true})
  const renditions = planLadder({displayWidth: run.width, displayHeight: run.height}, standardLadder(run.ladder))
  for (const index of renditions.keys()) await mkdir(path.join(REPO_ROOT, dirs.ladder, `v${index}`), {recursive: true})
  await mkdir(path.join(REPO_ROOT, dirs.ladder, `v${renditions.length}`), {recursive: true})

  const rtmpPort = await freePort()
  let server: RunningServer
  let url: string
  let log = ''
  let stopScraper = async (): Promise<SpeedSample[]> => []
  if (run.ingest === LIVECTL) {
    const metricsPort = await freePort()
    server = await startServerProcess(process.execPath, ingestArgs({dataDir, store: dirs.store, rtmpPort, metricsPort, ladder: run.ladder, segmentSeconds: run.segmentSeconds}), {
      cwd: REPO_ROOT, env, stream: 'stderr', pattern: /livectl ingest listening on (rtmp:\/\/\S+)\/KEY/,
    })
    log = server.output()
    server.child.stderr?.on('data', (chunk: Buffer) => (log += chunk))
    url = `${server.url}/${key}`
    stopScraper = startMetricsScraper(`http://127.0.0.1:${metricsPort}/metrics`)
  } else {
    server = await startServerProcess(process.execPath, ['bench/live/relay.mjs', String(rtmpPort), path.join(runDir, 'relay-state')], {
      cwd: REPO_ROOT, env, stream: 'stdout', pattern: /relay listening on (rtmp:\/\/\S+)/,
    })
    url = `${server.url}/bench`
  }

  const at = (dir: string, file: string) => path.join(REPO_ROOT, dir, file)
  const watchers: Watcher[] = []
  if (run.contenders.includes(LIVECTL)) {
    watchers.push(createWatcher(LIVECTL, async () => {
      for (const entry of await readdir(path.join(REPO_ROOT, dirs.store)).catch(() => [])) {
        if (existsSync(at(dirs.store, path.join(entry, 'media_0.m3u8')))) return at(dirs.store, path.join(entry, 'media_0.m3u8'))
      }

      return undefined
    }))
  }

  if (run.contenders.includes(COPY)) watchers.push(createWatcher(COPY, async () => at(dirs.copy, 'index.m3u8')))
  if (run.contenders.includes(LADDER)) watchers.push(createWatcher(LADDER, async () => at(dirs.ladder, path.join('v0', 'index.m3u8'))))
  const stopPolling = startPolling(watchers)

  // The push; the plain packagers start once it is flowing (livectl starts on the server's postPublish).
  const pusher = startFfmpeg(ffmpeg, pushArgs(run.clip, url), {cwd: REPO_ROOT, env})
  const established = now()
  while (!pusher.samples.some((sample) => sample.media >= 0.3)) {
    if (pusher.child.exitCode !== null || now() - established > 20) {
      await stopPolling()
      await stopProcess(pusher, 'SIGKILL')
      await server.stop()
      throw new Error(`the push to ${run.ingest} did not start:\n${pusher.stderr().trim()}\n${log.trim()}`)
    }

    await sleep(10)
  }

  const packagers: Partial<Record<ContenderId, FfmpegHandle>> = {}
  if (run.contenders.includes(COPY)) packagers[COPY] = startFfmpeg(ffmpeg, copyPackagerArgs(url, path.join(REPO_ROOT, dirs.copy), run.segmentSeconds), {cwd: REPO_ROOT, env})
  if (run.contenders.includes(LADDER)) {
    packagers[LADDER] = startFfmpeg(ffmpeg, ladderPackagerArgs({url, renditions, segmentSeconds: run.segmentSeconds, outDir: path.join(REPO_ROOT, dirs.ladder)}), {cwd: REPO_ROOT, env})
  }

  const serverPid = server.child.pid ?? 0
  const cpuNow = () => ({
    machine: machineCpuTicks(), wall: now(),
    livectl: run.ingest === LIVECTL ? treeCpuSeconds(serverPid) : Number.NaN,
    ladder: packagers[LADDER] ? treeCpuSeconds(packagers[LADDER].child.pid ?? 0) : Number.NaN,
  })
  const cpuStart = cpuNow()
  const pushExit = await pusher.exited
  if (pushExit.code !== 0) throw new Error(`the push exited with ${pushExit.signal ?? pushExit.code}:\n${pusher.stderr().trim()}`)
  const pushEnd = pushExit.at ?? now()
  const cpuEnd = cpuNow()

  // Drain: livectl until its playlist ends; the plain packagers until nothing new is listed for a while.
  const quietSeconds = Math.max(3, 2.5 * run.segmentSeconds + 1)
  const drained = () => watchers.every((watcher) => {
    if (watcher.id === LIVECTL) return watcher.ended
    const packager = packagers[watcher.id as ContenderId]
    return !packager || packager.child.exitCode !== null || now() - Math.max(pushEnd, watcher.lastChange ?? 0) > quietSeconds
  })
  while (!drained() && now() - pushEnd < 30) await sleep(100)
  await stopPolling()
  const speedSamples = await stopScraper()
  const exits: Record<string, ProcessExit & {stderr: string}> = {}
  for (const [id, packager] of Object.entries(packagers)) exits[id] = {...(await stopProcess(packager)), stderr: packager.stderr().trim()}
  const serverExit = await server.stop()

  // When each media second was sent: the pusher reports, every 0.1 s, how far it has sent; the least-delayed report gives the start.
  const pushStart = pushStartOf(pusher)
  const totalFrames = run.clipSeconds * FRAME_RATE
  const results: Partial<Record<ContenderId, ContenderResult>> = {}
  for (const watcher of watchers) {
    results[watcher.id as ContenderId] = await analyseWatcher(watcher, {ffmpeg, pushStart, pushEnd, segmentSeconds: run.segmentSeconds, totalFrames})
  }

  const steadyFrom = pushStart + WARMUP_SECONDS
  const livectlResult = results[LIVECTL]
  if (livectlResult) {
    const speeds = speedSamples.filter((sample) => sample.wall >= steadyFrom && sample.wall <= pushEnd).map((sample) => sample.speed)
    const all = speedSamples.filter((sample) => sample.wall <= pushEnd).map((sample) => sample.speed)
    livectlResult.speed = speeds.length > 0 ? {median: median(speeds), min: Math.min(...speeds), max: Math.max(...all), samples: speeds.length} : undefined
    livectlResult.cpuCores = (cpuEnd.livectl - cpuStart.livectl) / (cpuEnd.wall - cpuStart.wall)
  }

  const ladderResult = results[LADDER]
  const ladderSamples = packagers[LADDER]?.samples ?? []
  if (ladderResult) {
    const speeds = windowRates(ladderSamples, steadyFrom, pushEnd)
    const all = windowRates(ladderSamples, pushStart, pushEnd)
    ladderResult.speed = speeds.length > 0 ? {median: median(speeds), min: Math.min(...speeds), max: Math.max(...all), samples: speeds.length} : undefined
    ladderResult.cpuCores = (cpuEnd.ladder - cpuStart.ladder) / (cpuEnd.wall - cpuStart.wall)
  }

  const machineBusy = busyShare(cpuStart.machine, cpuEnd.machine)
  const logLines = log.split('\n').filter((line) => line.trim() !== '')
  const problems: string[] = []
  for (const [id, exit] of Object.entries(exits)) {
    if (exit.stderr) problems.push(`${id} ffmpeg stderr: ${exit.stderr.split('\n').slice(-3).join(' / ')}`)
  }

  for (const line of logLines) {
    if (/fail|error|behind|refused/i.test(line)) problems.push(`livectl: ${line.trim()}`)
  }

  if (serverExit.killed) problems.push(`${run.ingest} server did not stop within 10 s of SIGTERM`)
  for (const result of Object.values(results)) {
    if (result.unreadable > 0) problems.push(`${result.id}: ${result.unreadable} segment(s) whose frame number could not be read`)
    if (result.listed === 0) problems.push(`${result.id}: no segment was listed`)
  }

  if (!context.keep) await rm(path.join(REPO_ROOT, runDir), {recursive: true, force: true})
  return {
    ...run, clip: undefined, renditions: renditions.map((rendition) => `${rendition.name} ${rendition.width}x${rendition.pixelHeight}`),
    results, machineBusy, problems, logLines, pushSeconds: pushEnd - pushStart, loadAfter: loadAverage(),
  }
}
