/**
 * Live benchmark: glass-to-publish latency of `livectl ingest`, from a frame being pushed over RTMP
 * to the segment that holds it being in storage and listed in the live playlist, against plain
 * ffmpeg HLS packagers fed by the same push command; and how many ladder rungs this machine
 * encodes live in real time.
 *
 *   npm run bench:live                      builds, then runs the defaults (about 10 minutes)
 *   node bench/live.mjs --push-seconds 36 --rung-seconds 30 --segments 2,1 [--skip-rungs] [--skip-same-push] [--keep]
 *
 * Every pushed picture carries its frame number as a 16-bit barcode in a strip at the top (each bit
 * drawn next to its complement, so a misread is detected). The pusher is `ffmpeg -re -c copy` of a
 * pre-encoded clip, so pushing costs no CPU; its `-progress` output (every 0.1 s) gives the wall
 * time at which each media second was sent. Each contender's live playlist is read every 20 ms and
 * the wall time each segment is first listed is recorded; afterwards the first frame of every
 * listed segment is decoded to read its frame number. Glass-to-publish of a frame = the wall time
 * its segment was first listed - the wall time the frame was sent.
 *
 * Writes the `## Live` section of BENCHMARKS.md. Plain ESM: Node 20 cannot run .ts.
 */
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'
import {parseArgs} from 'node:util'

import {
  clipArgs, createKey, ensureClip, FRAME_RATE, importDist, now, percentile, pushArgs, readFrameNumber, REPO_ROOT, startFfmpeg, stopProcess, WORK_DIR,
} from './live-clip.mjs'
import {runGlass} from './live-glass.mjs'
import {renderReport} from './live-report.mjs'
import {
  freePort,
  capture,
  environmentWithout,
  formatCommand,
  httpRequest,
  loadAverage,
  machineCpuTicks,
  machineFacts,
  median,
  processCpuSeconds,
  processTree,
  slope,
  startServerProcess,
  writeSection,
} from './support.mjs'

/** Segments whose first frame was pushed earlier than this are start-up, not steady state. */
const WARMUP_SECONDS = 8
const POLL_MS = 20
const METRICS_MS = 1000
const SPEED_WINDOW_SECONDS = 5
const PRESET = 'veryfast'
/** livectl's default live ladder (the `--live-ladder` default of `livectl ingest`). */
const LIVE_LADDER = ['720p', '480p', '144p']
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

const LIVECTL = 'livectl'
const COPY = 'copy'
const LADDER = 'ffmpeg-ladder'

const DEFAULTS = {pushSeconds: 36, rungSeconds: 30, segments: [2, 1]}

function parseOptions() {
  const {values} = parseArgs({
    options: {
      'push-seconds': {type: 'string', default: String(DEFAULTS.pushSeconds)},
      'rung-seconds': {type: 'string', default: String(DEFAULTS.rungSeconds)},
      segments: {type: 'string', default: DEFAULTS.segments.join(',')},
      'skip-rungs': {type: 'boolean', default: false},
      'skip-same-push': {type: 'boolean', default: false},
      keep: {type: 'boolean', default: false},
      'render-only': {type: 'boolean', default: false},
      glass: {type: 'boolean', default: false},
      'glass-rounds': {type: 'string', default: '2'},
      'skip-glass': {type: 'boolean', default: false},
      'll-parts': {type: 'string', default: '0.333,0.2,0.5,1'},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write(
      'Usage: node bench/live.mjs [--push-seconds N (default 36)] [--rung-seconds N (default 30)] [--segments 2,1] [--skip-rungs] [--skip-same-push] [--keep] [--glass] [--glass-rounds 2] [--ll-parts 0.333,0.2,0.5,1 ("" for none)]\n' +
        '       node bench/live.mjs --render-only    rewrites the section from the measurements the last run saved in .bench-work/live/report.json\n',
    )
    process.exit(0)
  }

  const pushSeconds = Number(values['push-seconds'])
  const rungSeconds = Number(values['rung-seconds'])
  // "" for none: the low-latency settings alone.
  const segments = values.segments === '' ? [] : values.segments.split(',').map(Number)
  for (const [name, value] of [['--push-seconds', pushSeconds], ['--rung-seconds', rungSeconds]]) {
    if (!Number.isInteger(value) || value < 12 || value > 600) throw new Error(`${name} must be a whole number of seconds from 12 to 600 (got ${value})`)
  }

  if (segments.some((value) => !Number.isInteger(value) || value < 1 || value > 10)) throw new Error(`--segments must list whole seconds from 1 to 10 (got ${values.segments})`)
  const llParts = values['ll-parts'] === '' ? [] : values['ll-parts'].split(',').map(Number)
  if (llParts.some((value) => !(value >= 0.1 && value <= 1))) throw new Error(`--ll-parts must list part durations from 0.1 to 1 s (got ${values['ll-parts']})`)
  return {llParts, pushSeconds, rungSeconds, segments, skipRungs: values['skip-rungs'], skipSamePush: values['skip-same-push'], keep: values.keep, renderOnly: values['render-only'], glass: values.glass, skipGlass: values['skip-glass'], glassRounds: Number(values['glass-rounds'])}
}

// ---------------------------------------------------------------------------------------------
// The pushed clip: testsrc2 with a frame-number barcode, encoded as a broadcaster would.


// ---------------------------------------------------------------------------------------------
// Processes.

/** CPU seconds of a process and all its descendants that are alive now. */
function treeCpuSeconds(pid) {
  let total = 0
  for (const member of processTree([pid])) total += processCpuSeconds(member) ?? 0
  return total
}

// ---------------------------------------------------------------------------------------------
// Watching the published playlists.

function parsePlaylist(text) {
  const segments = []
  let map
  let duration
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.startsWith('#EXT-X-MAP:')) map = /URI="([^"]+)"/.exec(line)?.[1]
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice('#EXTINF:'.length))
    else if (line !== '' && !line.startsWith('#')) {
      segments.push({uri: line, duration})
      duration = undefined
    }
  }

  return {map, segments, ended: text.includes('#EXT-X-ENDLIST')}
}

/** Remembers the wall time each segment of one contender's live playlist is first listed. */
function createWatcher(id, locate) {
  const watcher = {
    id,
    playlist: undefined,
    map: undefined,
    segments: [],
    known: new Set(),
    ended: false,
    lastChange: undefined,
    async poll() {
      watcher.playlist ??= await locate()
      if (!watcher.playlist) return
      const readAt = now()
      let text
      try {
        text = await readFile(watcher.playlist, 'utf8')
      } catch {
        return // not written yet
      }

      const listing = parsePlaylist(text)
      watcher.map ??= listing.map
      for (const entry of listing.segments) {
        if (watcher.known.has(entry.uri)) continue
        watcher.known.add(entry.uri)
        watcher.segments.push({...entry, appearedAt: readAt})
        watcher.lastChange = readAt
      }

      watcher.ended ||= listing.ended
    },
  }
  return watcher
}

function startPolling(watchers) {
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const started = performance.now()
      await Promise.all(watchers.map((watcher) => watcher.poll()))
      await sleep(Math.max(1, POLL_MS - (performance.now() - started)))
    }
  })()
  return async () => {
    stopped = true
    await done
  }
}

/** Scrapes livectl_live_encoder_speed from the ingest's /metrics every second. */
function startMetricsScraper(url) {
  const samples = []
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      try {
        const {status, body} = await httpRequest(url)
        const match = status === 200 ? /^livectl_live_encoder_speed\{[^}]*\}\s+(\S+)$/m.exec(body) : null
        if (match) samples.push({wall: now(), speed: Number(match[1])})
      } catch {
        // not up yet, or going away
      }

      await sleep(METRICS_MS)
    }
  })()
  return async () => {
    stopped = true
    await done
    return samples
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis.

/** Media seconds per wall second over sliding 5 s windows of {wall, media} samples, within [from, to]. */
function windowRates(samples, from, to) {
  const rates = []
  for (const [index, sample] of samples.entries()) {
    if (sample.wall < from + SPEED_WINDOW_SECONDS || sample.wall > to) continue
    const start = samples.slice(0, index).find((candidate) => candidate.wall >= sample.wall - SPEED_WINDOW_SECONDS)
    if (!start || sample.wall - start.wall < SPEED_WINDOW_SECONDS * 0.8) continue
    rates.push((sample.media - start.media) / (sample.wall - start.wall))
  }

  return rates
}

/**
 * Per segment: the frame numbers it holds (first frame read from the picture; the count from the
 * next segment's first frame, or from EXTINF), when they were pushed, and when it was listed.
 */
async function analyseWatcher(watcher, {ffmpeg, pushStart, pushEnd, segmentSeconds, totalFrames}) {
  const dir = watcher.playlist ? path.dirname(watcher.playlist) : undefined
  const segments = []
  for (const segment of watcher.segments) {
    const first = dir ? await readFrameNumber(ffmpeg, watcher.map ? path.join(dir, watcher.map) : undefined, path.join(dir, segment.uri)) : undefined
    segments.push({...segment, first})
  }

  const unreadable = segments.filter((segment) => segment.first === undefined).length
  const rows = []
  for (const [index, segment] of segments.entries()) {
    if (segment.first === undefined) continue
    const next = segments[index + 1]
    const count = next?.first !== undefined && next.first > segment.first ? next.first - segment.first : Math.round((segment.duration ?? 0) * FRAME_RATE)
    const sent = (frame) => pushStart + frame / FRAME_RATE
    const row = {
      uri: segment.uri,
      first: segment.first,
      count,
      appearedAt: segment.appearedAt,
      pushedAt: segment.first / FRAME_RATE,
      firstLatency: segment.appearedAt - sent(segment.first),
      lastLatency: segment.appearedAt - sent(segment.first + count - 1),
      meanLatency: segment.appearedAt - sent(segment.first + (count - 1) / 2),
    }
    // Steady state only: not start-up, a full segment, and not the last one (closed by the end of the stream, not by the next keyframe).
    const closedByEnd = segment.first + count - 1 >= totalFrames - 1 || (index === segments.length - 1 && segment.appearedAt > pushEnd)
    row.counted = row.pushedAt >= WARMUP_SECONDS && count >= 0.9 * segmentSeconds * FRAME_RATE && !closedByEnd
    rows.push(row)
  }

  const counted = rows.filter((row) => row.counted)
  const frames = counted.reduce((sum, row) => sum + row.count, 0)
  return {
    id: watcher.id,
    listed: watcher.segments.length,
    unreadable,
    counted: counted.length,
    firstSegmentAfter: watcher.segments.length > 0 ? watcher.segments[0].appearedAt - pushStart : undefined,
    first: {median: counted.length > 0 ? median(counted.map((row) => row.firstLatency)) : undefined, p90: percentile(counted.map((row) => row.firstLatency), 0.9)},
    last: {median: counted.length > 0 ? median(counted.map((row) => row.lastLatency)) : undefined, p90: percentile(counted.map((row) => row.lastLatency), 0.9)},
    meanOverFrames: frames > 0 ? counted.reduce((sum, row) => sum + row.meanLatency * row.count, 0) / frames : undefined,
    drift: slope(counted.map((row) => [row.pushedAt, row.firstLatency])),
    rows,
  }
}

// ---------------------------------------------------------------------------------------------
// One push and its contenders.

function copyPackagerArgs(url, outDir, segmentSeconds) {
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
function ladderPackagerArgs(live, {url, renditions, segmentSeconds, outDir}) {
  const args = live.buildLiveArgs({
    inputUrl: url, renditions, hasAudio: true, frameRate: FRAME_RATE, segmentDurationSeconds: segmentSeconds, preset: PRESET,
    manifestPath: 'unused.mpd', recordingPath: 'unused.ts', readTimeoutSeconds: 5,
  })
  const muxer = args.findIndex((arg, index) => arg === '-f' && args[index + 1] === 'dash')
  if (muxer === -1) throw new Error('buildLiveArgs no longer writes -f dash: update ladderPackagerArgs in bench/live.mjs')
  return [
    ...args.slice(0, muxer),
    '-f', 'hls', '-hls_time', String(segmentSeconds), '-hls_list_size', '0', '-hls_segment_type', 'fmp4',
    '-hls_flags', 'independent_segments+temp_file', '-hls_fmp4_init_filename', 'init.mp4',
    '-master_pl_name', 'master.m3u8',
    '-var_stream_map', [...renditions.map((_, index) => `v:${index},agroup:audio`), 'a:0,agroup:audio'].join(' '),
    '-hls_segment_filename', path.join(outDir, 'v%v', 'seg-%05d.m4s'), path.join(outDir, 'v%v', 'index.m3u8'),
  ]
}

function ingestArgs({dataDir, store, rtmpPort, metricsPort, ladder, segmentSeconds}) {
  return [
    'bin/run.js', 'ingest', '--data-dir', dataDir, '--to', store, '--rtmp-port', String(rtmpPort),
    '--live-ladder', ladder.join(','), '--segment-duration', String(segmentSeconds), '--preset', PRESET,
    '--reconnect-grace', '0', '--metrics-port', String(metricsPort),
  ]
}

/**
 * One push of `clip` and the contenders that receive it:
 *   ingest 'livectl': livectl's ingest server receives the push (stream key); the others pull it from there.
 *   ingest 'relay':   a plain node-media-server (bench/live-relay.mjs) receives it; the ffmpeg packagers pull from it.
 */
async function runPush(context, run) {
  const {ffmpeg, env, tools, key, dataDir} = context
  const runDir = path.join(WORK_DIR, 'out', run.label)
  await rm(path.join(REPO_ROOT, runDir), {recursive: true, force: true})
  const dirs = {store: path.join(runDir, 'store'), copy: path.join(runDir, 'copy'), ladder: path.join(runDir, 'ladder')}
  for (const dir of Object.values(dirs)) await mkdir(path.join(REPO_ROOT, dir), {recursive: true})
  const renditions = tools.planLadder({displayWidth: run.width, displayHeight: run.height}, tools.standardLadder(run.ladder))
  for (const index of renditions.keys()) await mkdir(path.join(REPO_ROOT, dirs.ladder, `v${index}`), {recursive: true})
  await mkdir(path.join(REPO_ROOT, dirs.ladder, `v${renditions.length}`), {recursive: true})

  const rtmpPort = await freePort()
  let server
  let url
  let log = ''
  let stopScraper = async () => []
  if (run.ingest === LIVECTL) {
    const metricsPort = await freePort()
    server = await startServerProcess(process.execPath, ingestArgs({dataDir, store: dirs.store, rtmpPort, metricsPort, ladder: run.ladder, segmentSeconds: run.segmentSeconds}), {
      cwd: REPO_ROOT, env, stream: 'stderr', pattern: /livectl ingest listening on (rtmp:\/\/\S+)\/KEY/,
    })
    log = server.output()
    server.child.stderr.on('data', (chunk) => (log += chunk))
    url = `${server.url}/${key}`
    stopScraper = startMetricsScraper(`http://127.0.0.1:${metricsPort}/metrics`)
  } else {
    server = await startServerProcess(process.execPath, ['bench/live-relay.mjs', String(rtmpPort), path.join(runDir, 'relay-state')], {
      cwd: REPO_ROOT, env, stream: 'stdout', pattern: /relay listening on (rtmp:\/\/\S+)/,
    })
    url = `${server.url}/bench`
  }

  const at = (dir, file) => path.join(REPO_ROOT, dir, file)
  const watchers = []
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
  const pusher = startFfmpeg(ffmpeg, pushArgs(run.clip, url), tools.createProgressParser, {cwd: REPO_ROOT, env})
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

  const packagers = {}
  if (run.contenders.includes(COPY)) packagers[COPY] = startFfmpeg(ffmpeg, copyPackagerArgs(url, path.join(REPO_ROOT, dirs.copy), run.segmentSeconds), tools.createProgressParser, {cwd: REPO_ROOT, env})
  if (run.contenders.includes(LADDER)) {
    packagers[LADDER] = startFfmpeg(ffmpeg, ladderPackagerArgs(tools, {url, renditions, segmentSeconds: run.segmentSeconds, outDir: path.join(REPO_ROOT, dirs.ladder)}), tools.createProgressParser, {cwd: REPO_ROOT, env})
  }

  const cpuStart = {machine: machineCpuTicks(), wall: now(), livectl: run.ingest === LIVECTL ? treeCpuSeconds(server.child.pid) : undefined, ladder: packagers[LADDER] ? treeCpuSeconds(packagers[LADDER].child.pid) : undefined}
  const pushExit = await pusher.exited
  if (pushExit.code !== 0) throw new Error(`the push exited with ${pushExit.signal ?? pushExit.code}:\n${pusher.stderr().trim()}`)
  const pushEnd = pushExit.at
  const cpuEnd = {machine: machineCpuTicks(), wall: now(), livectl: run.ingest === LIVECTL ? treeCpuSeconds(server.child.pid) : undefined, ladder: packagers[LADDER] ? treeCpuSeconds(packagers[LADDER].child.pid) : undefined}

  // Drain: livectl until its playlist ends; the plain packagers until nothing new is listed for a while.
  const quietSeconds = Math.max(3, 2.5 * run.segmentSeconds + 1)
  const drained = () => watchers.every((watcher) => {
    if (watcher.id === LIVECTL) return watcher.ended
    const packager = packagers[watcher.id]
    return packager.child.exitCode !== null || now() - Math.max(pushEnd, watcher.lastChange ?? 0) > quietSeconds
  })
  while (!drained() && now() - pushEnd < 30) await sleep(100)
  await stopPolling()
  const speedSamples = await stopScraper()
  const exits = {}
  for (const [id, packager] of Object.entries(packagers)) exits[id] = {...(await stopProcess(packager)), stderr: packager.stderr().trim()}
  const serverExit = await server.stop()

  // When each media second was sent: the pusher reports, every 0.1 s, how far it has sent; the least-delayed report gives the start.
  const pushStart = Math.min(...pusher.samples.filter((sample) => sample.media > 0).map((sample) => sample.wall - sample.media))
  const totalFrames = run.clipSeconds * FRAME_RATE
  const results = {}
  for (const watcher of watchers) {
    results[watcher.id] = await analyseWatcher(watcher, {ffmpeg, pushStart, pushEnd, segmentSeconds: run.segmentSeconds, totalFrames})
  }

  const steadyFrom = pushStart + WARMUP_SECONDS
  if (results[LIVECTL]) {
    const speeds = speedSamples.filter((sample) => sample.wall >= steadyFrom && sample.wall <= pushEnd).map((sample) => sample.speed)
    const all = speedSamples.filter((sample) => sample.wall <= pushEnd).map((sample) => sample.speed)
    results[LIVECTL].speed = speeds.length > 0 ? {median: median(speeds), min: Math.min(...speeds), max: Math.max(...all), samples: speeds.length} : undefined
    results[LIVECTL].cpuCores = (cpuEnd.livectl - cpuStart.livectl) / (cpuEnd.wall - cpuStart.wall)
  }

  if (results[LADDER]) {
    const speeds = windowRates(packagers[LADDER].samples, steadyFrom, pushEnd)
    const all = windowRates(packagers[LADDER].samples, pushStart, pushEnd)
    results[LADDER].speed = speeds.length > 0 ? {median: median(speeds), min: Math.min(...speeds), max: Math.max(...all), samples: speeds.length} : undefined
    results[LADDER].cpuCores = (cpuEnd.ladder - cpuStart.ladder) / (cpuEnd.wall - cpuStart.wall)
  }

  const machineBusy = (cpuEnd.machine.busy - cpuStart.machine.busy) / (cpuEnd.machine.total - cpuStart.machine.total)
  const logLines = log.split('\n').filter((line) => line.trim() !== '')
  const problems = []
  for (const [id, exit] of Object.entries(exits)) {
    if (exit.stderr) problems.push(`${id} ffmpeg stderr: ${exit.stderr.split('\n').slice(-3).join(' / ')}`)
  }

  for (const line of logLines) {
    if (/fail|error|behind|refused/i.test(line)) problems.push(`livectl: ${line.trim()}`)
  }

  if (serverExit?.killed) problems.push(`${run.ingest} server did not stop within 10 s of SIGTERM`)
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

function printRun(result) {
  process.stdout.write(`${result.label}: ${result.renditions.join(', ')}; machine CPU busy ${(100 * result.machineBusy).toFixed(0)} % during the push (load ${result.loadAfter})\n`)
  const fmt = (value) => (value === undefined ? '-' : value.toFixed(2))
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

async function render(report) {
  const section = renderReport(report)
  process.stdout.write(`\n${section}\n`)
  await writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), section)
  process.stdout.write('Wrote the "## Live" section of BENCHMARKS.md\n')
}

async function main() {
  const options = parseOptions()
  if (options.renderOnly) {
    const saved = JSON.parse(await readFile(path.join(REPO_ROOT, SAVED_REPORT), 'utf8'))
    return render({...saved, startedAt: new Date(saved.startedAt)})
  }

  if (options.glass) return runGlass(options)

  const tools = {
    ...(await importDist('lib/media/ladder.js')),
    ...(await importDist('lib/ingest/live-args.js')),
    ...(await importDist('lib/media/progress.js')),
  }
  const {mediaTools} = await importDist('lib/media/tools.js')
  const {ffmpeg} = await mediaTools()
  const env = environmentWithout('LIVECTL_', ['LIVECTL_FFMPEG', 'LIVECTL_FFPROBE'])
  const defaultLadder = (await importDist('commands/ingest.js')).default.flags['live-ladder'].default
  if (defaultLadder !== LIVE_LADDER.join(',')) throw new Error(`livectl's default live ladder is now ${defaultLadder}: update LIVE_LADDER in bench/live.mjs`)

  const dataDir = path.join(WORK_DIR, 'data')
  await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  await rm(path.join(REPO_ROOT, WORK_DIR, 'out'), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, dataDir), {recursive: true})
  const clip720 = {width: 1280, height: 720, seconds: options.pushSeconds, videoKbps: 4000}
  const clip1080 = {width: 1920, height: 1080, seconds: options.rungSeconds, videoKbps: 6000}
  const clips = {720: await ensureClip(ffmpeg, clip720, env)}
  if (!options.skipRungs) clips[1080] = await ensureClip(ffmpeg, clip1080, env)
  const ffmpegVersion = (await capture(ffmpeg, ['-hide_banner', '-version'])).split('\n', 1)[0].replace(/\s+Copyright.*$/, '')
  const key = await createKey(dataDir, env)
  const context = {ffmpeg, env, tools, key, dataDir, keep: options.keep}

  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const runs = []
  const plan = []
  const main720 = {clip: clips[720], clipSeconds: options.pushSeconds, width: 1280, height: 720, ladder: LIVE_LADDER}
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
  const sampleRenditions = tools.planLadder({displayWidth: 1280, displayHeight: 720}, tools.standardLadder(LIVE_LADDER))
  const report = {
    options,
    defaults: DEFAULTS,
    startedAt,
    loadAtStart,
    loadAtEnd: loadAverage(),
    machine: machineFacts(),
    ffmpeg: {path: ffmpeg, version: ffmpegVersion},
    runs,
    constants: {warmupSeconds: WARMUP_SECONDS, pollMs: POLL_MS, preset: PRESET, liveLadder: LIVE_LADDER, realtimeSpeedMin: REALTIME_SPEED_MIN, driftMax: DRIFT_MAX, frameRate: FRAME_RATE},
    commands: {
      clip: formatCommand('ffmpeg', clipArgs({...clip720, output: clips[720]})),
      push: formatCommand('ffmpeg', pushArgs(clips[720], 'rtmp://127.0.0.1:PORT/live/KEY')),
      ingest: formatCommand('node', ingestArgs({dataDir, store: 'STORE', rtmpPort: 'PORT', metricsPort: 'MPORT', ladder: LIVE_LADDER, segmentSeconds: 2})),
      livectlFfmpeg: formatCommand('ffmpeg', tools.buildLiveArgs({
        inputUrl: 'rtmp://127.0.0.1:PORT/live/KEY', renditions: sampleRenditions, hasAudio: true, frameRate: FRAME_RATE, segmentDurationSeconds: 2, preset: PRESET,
        manifestPath: 'WORKDIR/manifest.mpd', recordingPath: 'WORKDIR/recording.ts', readTimeoutSeconds: 5,
      })),
      copy: formatCommand('ffmpeg', copyPackagerArgs('rtmp://127.0.0.1:PORT/live/KEY', 'OUT', 2)),
      ladder: formatCommand('ffmpeg', ladderPackagerArgs(tools, {url: 'rtmp://127.0.0.1:PORT/live/KEY', renditions: sampleRenditions, segmentSeconds: 2, outDir: 'OUT'})),
      relay: formatCommand('node', ['bench/live-relay.mjs', 'PORT', 'STATE_DIR']),
    },
  }
  await writeFile(path.join(REPO_ROOT, SAVED_REPORT), `${JSON.stringify(report, null, 2)}\n`)
  await render(report)
  if (!options.skipGlass) await runGlass(options)
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/live: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
