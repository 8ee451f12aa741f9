/**
 * Glass-to-glass latency of livectl live, in a real player: the same barcode clip as bench/live.mjs
 * is pushed to `livectl ingest` (live ladder 720p/480p/144p), `livectl serve` serves the watch page
 * on the same data directory, and headless Chromium plays it there with hls.js or dash.js, with
 * each player's default live settings and with its low-latency settings. On every frame the
 * browser presents (requestVideoFrameCallback), the page draws the barcode strip to a canvas and
 * reads the frame number; glass to glass = the wall time the frame was presented
 * (performance.timeOrigin + expectedDisplayTime) - the wall time it was pushed.
 *
 *   node bench/live.mjs --glass [--glass-rounds 2] [--push-seconds 36] [--segments 2,1] [--ll-parts 0.333,0.2,0.5,1]      this part only
 *
 * Writes the `## Live: glass to glass` section of BENCHMARKS.md. Plain ESM.
 */
/* global window, document -- pageProbe and the evaluate callbacks run in the browser */
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'

import {BITS, BLOCKS, createKey, ensureClip, FRAME_RATE, importDist, now, percentile, pushArgs, REPO_ROOT, STRIP_FRACTION, startFfmpeg, stopProcess, WORK_DIR} from './live-clip.mjs'
import {capture, environmentWithout, formatCommand, freePort, httpRequest, loadAverage, machineCpuTicks, machineFacts, median, startServerProcess, writeSection} from './support.mjs'

const LIVE_LADDER = ['720p', '480p', '144p']
const PRESET = 'veryfast'
/** Frames pushed in the first seconds are start-up (the ingest probes, the player joins): not counted. */
const WARMUP_SECONDS = 12
const CHROMIUM = process.env.LIVECTL_BENCH_CHROMIUM ?? '/usr/bin/chromium'

/** The players and their settings (merged by the watch page over its own via window.livectlPlayerSettings). */
export function playerConfigs(segmentSeconds) {
  return [
    {id: 'hls-default', player: 'hls', label: 'hls.js, default live settings', settings: {}},
    {
      id: 'hls-low-latency', player: 'hls', label: 'hls.js, low-latency settings',
      // One target duration behind the newest listed segment, and catch up by playing faster.
      settings: {'hls.js': {lowLatencyMode: true, liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3, maxLiveSyncPlaybackRate: 1.5}},
    },
    {id: 'dash-default', player: 'dash', label: 'dash.js, default live settings', settings: {}},
    {
      id: 'dash-low-latency', player: 'dash', label: 'dash.js, low-latency settings',
      // A target 1.5 segments behind the live edge (a segment is available only once complete), with catch-up.
      settings: {'dash.js': {streaming: {delay: {liveDelay: 1.5 * segmentSeconds}, liveCatchup: {enabled: true, maxDrift: 3 * segmentSeconds, playbackRate: {min: -0.2, max: 0.5}}}}},
    },
  ]
}

/**
 * Low latency: `ingest --low-latency`; the page sees `lowLatency` in GET /videos/ID and plays the
 * origin's LL-HLS or LL-DASH with its own low-latency settings (hls.js lowLatencyMode with
 * catch-up up to 1.5x, dash.js catch-up to the MPD's latency target): nothing is set here.
 */
export function lowLatencyConfigs(partSeconds, withDash) {
  return [
    {id: 'hls-ll', player: 'hls', label: `hls.js, LL-HLS (parts of ${partSeconds} s)`, settings: {}, partSeconds},
    ...(withDash ? [{id: 'dash-ll', player: 'dash', label: `dash.js, LL-DASH (chunks of ${partSeconds} s)`, settings: {}, partSeconds}] : []),
  ]
}

/**
 * Runs in the page before its own script: sets the player settings, then reads the barcode of
 * every presented frame. Kept self-contained (it is serialised into the page).
 */
function pageProbe({settings, blocks, bits, stripFraction}) {
  window.livectlPlayerSettings = settings
  const state = {frames: [], misreads: 0, waiting: [], heights: new Set(), started: false}
  window.livectlGlass = state
  const canvas = document.createElement('canvas')
  const context = canvas.getContext('2d', {willReadFrequently: true})
  const watch = (video) => {
    const onFrame = (_now, metadata) => {
      const width = video.videoWidth
      const height = video.videoHeight
      if (width > 0 && height > 0) {
        const strip = Math.max(2, Math.round(height * stripFraction))
        if (canvas.width !== width || canvas.height !== strip) {
          canvas.width = width
          canvas.height = strip
        }

        context.drawImage(video, 0, 0, width, strip, 0, 0, width, strip)
        // The middle row of the strip; each block's middle half, averaged.
        const row = context.getImageData(0, Math.floor(strip / 2), width, 1).data
        const level = (block) => {
          const from = Math.floor(((block + 0.25) * width) / blocks)
          const to = Math.max(from + 1, Math.floor(((block + 0.75) * width) / blocks))
          let sum = 0
          for (let x = from; x < to; x++) sum += row[4 * x]
          return sum / (to - from)
        }

        let value = 0
        let valid = true
        for (let bit = 0; bit < bits; bit++) {
          const shown = level(2 * bit) > 128
          if (shown === level(2 * bit + 1) > 128) {
            valid = false
            break
          }

          if (shown) value += 2 ** bit
        }

        if (valid) {
          state.frames.push([value, performance.timeOrigin + metadata.expectedDisplayTime, height])
          state.heights.add(height)
        } else {
          state.misreads++
        }
      }

      video.requestVideoFrameCallback(onFrame)
    }

    video.requestVideoFrameCallback(onFrame)
    video.addEventListener('waiting', () => state.waiting.push(performance.timeOrigin + performance.now()))
  }

  document.addEventListener('DOMContentLoaded', () => {
    const video = document.querySelector('[data-testid="player"]')
    if (video) watch(video)
  })
}

async function waitForLiveVideo(api, known) {
  const deadline = now() + 30
  while (now() < deadline) {
    const {body} = await httpRequest(`${api}/videos?limit=5`)
    const fresh = JSON.parse(body).videos.find((video) => video.status === 'live' && !known.has(video.id))
    if (fresh) {
      const detail = JSON.parse((await httpRequest(`${api}/videos/${fresh.id}`)).body)
      if (detail.hlsUrl) return fresh.id
    }

    await sleep(100)
  }

  throw new Error('no live video with playlists appeared within 30 s of the push')
}

async function waitForEnded(api, videoId) {
  const deadline = now() + 60
  while (now() < deadline) {
    const {body} = await httpRequest(`${api}/videos/${videoId}`)
    if (JSON.parse(body).status !== 'live') return
    await sleep(200)
  }
}

function statistics(values) {
  if (values.length === 0) return {samples: 0}
  return {samples: values.length, median: median(values), p90: percentile(values, 0.9), min: Math.min(...values), max: Math.max(...values)}
}

async function runOne({browser, api, rtmpUrl, clip, config, tools, ffmpeg, env, known, segmentSeconds, clipSeconds}) {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}})
  await context.addInitScript(pageProbe, {settings: config.settings, blocks: BLOCKS, bits: BITS, stripFraction: STRIP_FRACTION})
  const pusher = startFfmpeg(ffmpeg, pushArgs(clip, rtmpUrl), tools.createProgressParser, {cwd: REPO_ROOT, env})
  let videoId
  try {
    videoId = await waitForLiveVideo(api, known)
    known.add(videoId)
    const page = await context.newPage()
    await page.goto(`${api}/watch/${videoId}?player=${config.player}`)
    const cpuStart = {machine: machineCpuTicks(), wall: now()}
    const pushExit = await pusher.exited
    if (pushExit.code !== 0) throw new Error(`the push exited with ${pushExit.signal ?? pushExit.code}:\n${pusher.stderr().trim()}`)
    const cpuEnd = {machine: machineCpuTicks(), wall: now()}
    // The player is seconds behind: let it show the rest of what was pushed (or give up after 20 s).
    const lastFrame = clipSeconds * FRAME_RATE - 1
    const played = now() + 20
    while (now() < played && (await page.evaluate(() => Math.max(-1, ...window.livectlGlass.frames.map(([frame]) => frame)))) < lastFrame - FRAME_RATE) await sleep(250)
    const state = await page.evaluate(() => ({...window.livectlGlass, heights: [...window.livectlGlass.heights], kind: document.body.dataset.playerKind, error: document.querySelector('[data-testid="player-error"]')?.textContent ?? ''}))
    // Wall time of media time 0 at the pusher (seconds on this process's clock, then epoch ms).
    const pushStart = Math.min(...pusher.samples.filter((sample) => sample.media > 0).map((sample) => sample.wall - sample.media))
    const pushStartEpochMs = performance.timeOrigin + pushStart * 1000
    const steadyFromMs = pushStartEpochMs + WARMUP_SECONDS * 1000
    const latencies = []
    let firstShown
    for (const [frame, shownAt] of state.frames) {
      const pushedAt = pushStartEpochMs + (1000 * frame) / FRAME_RATE
      firstShown ??= shownAt - pushStartEpochMs
      if (pushedAt >= steadyFromMs && frame < clipSeconds * FRAME_RATE) latencies.push((shownAt - pushedAt) / 1000)
    }

    const stalls = state.waiting.filter((at) => at >= steadyFromMs).length
    return {
      id: config.id, label: config.label, player: config.player, settings: config.settings, segmentSeconds, partSeconds: config.partSeconds, videoId, kind: state.kind,
      latency: statistics(latencies), latencies, firstFrameShownAfter: firstShown === undefined ? undefined : firstShown / 1000,
      framesRead: state.frames.length, misreads: state.misreads, stalls, heights: state.heights.sort((a, b) => b - a),
      playerError: state.error, machineBusy: (cpuEnd.machine.busy - cpuStart.machine.busy) / (cpuEnd.machine.total - cpuStart.machine.total),
    }
  } finally {
    await stopProcess(pusher, 'SIGKILL')
    await context.close()
    if (videoId) await waitForEnded(api, videoId)
  }
}

export async function runGlass({pushSeconds, segments, keep, glassRounds = 2, llParts = []}) {
  const {chromium} = await import('playwright-core')
  const tools = {...(await importDist('lib/media/progress.js'))}
  const {mediaTools} = await importDist('lib/media/tools.js')
  const {ffmpeg} = await mediaTools()
  const env = environmentWithout('LIVECTL_', ['LIVECTL_FFMPEG', 'LIVECTL_FFPROBE'])
  const dataDir = path.join(WORK_DIR, 'glass-data')
  await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, dataDir), {recursive: true})
  const clip = await ensureClip(ffmpeg, {width: 1280, height: 720, seconds: pushSeconds, videoKbps: 4000}, env)
  const key = await createKey(dataDir, env)
  const ffmpegVersion = (await capture(ffmpeg, ['-hide_banner', '-version'])).split('\n', 1)[0].replace(/\s+Copyright.*$/, '')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  })
  const chromiumVersion = browser.version()
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const runs = []
  try {
    // One ingest and serve per setting; every player and round of it pushes to that ingest.
    const runSetting = async ({label, segmentSeconds, ingestFlags, configs}) => {
      const rtmpPort = await freePort()
      const httpPort = await freePort()
      const ingestArgs = ['bin/run.js', 'ingest', '--data-dir', dataDir, '--to', path.join(dataDir, 'media'), '--rtmp-port', String(rtmpPort), '--live-ladder', LIVE_LADDER.join(','), '--segment-duration', String(segmentSeconds), '--preset', PRESET, '--reconnect-grace', '0', ...ingestFlags]
      const ingest = await startServerProcess(process.execPath, ingestArgs, {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /livectl ingest listening on (rtmp:\/\/\S+)\/KEY/})
      const serve = await startServerProcess(process.execPath, ['bin/run.js', 'serve', '--data-dir', dataDir, '--port', String(httpPort)], {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /listening on (http:\/\/\S+)/})
      const known = new Set()
      try {
        for (let round = 1; round <= glassRounds; round++) for (const config of configs) {
          process.stdout.write(`glass ${label} round ${round} ${config.id} ...`)
          const result = {round, ...(await runOne({browser, api: serve.url, rtmpUrl: `${ingest.url}/${key}`, clip, config, tools, ffmpeg, env, known, segmentSeconds, clipSeconds: pushSeconds}))}
          const fmt = (value) => (value === undefined ? '-' : value.toFixed(2))
          process.stdout.write(` median ${fmt(result.latency.median)} s, p90 ${fmt(result.latency.p90)} s over ${result.latency.samples} frames, ${result.stalls} stall(s), heights ${result.heights.join('/')}${result.playerError ? `, error: ${result.playerError}` : ''}\n`)
          runs.push(result)
        }
      } finally {
        await serve.stop()
        await ingest.stop()
      }
    }

    for (const segmentSeconds of segments) await runSetting({label: `${segmentSeconds}s`, segmentSeconds, ingestFlags: [], configs: playerConfigs(segmentSeconds)})
    // Low latency, 2 s segments: LL-HLS and LL-DASH at the first part duration, then LL-HLS at the others.
    for (const [index, partSeconds] of llParts.entries()) {
      await runSetting({label: `LL ${partSeconds}s parts`, segmentSeconds: 2, ingestFlags: ['--low-latency', '--part-duration', String(partSeconds), '--origin-port', '0'], configs: lowLatencyConfigs(partSeconds, index === 0)})
    }
  } finally {
    await browser.close()
  }

  if (!keep) await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  const report = {
    startedAt, loadAtStart, loadAtEnd: loadAverage(), machine: machineFacts(), ffmpeg: {path: ffmpeg, version: ffmpegVersion}, chromium: chromiumVersion,
    options: {pushSeconds, segments, glassRounds, llParts}, runs, warmupSeconds: WARMUP_SECONDS, ladder: LIVE_LADDER,
    commands: {
      ingest: formatCommand('node', ['bin/run.js', 'ingest', '--data-dir', 'DATA', '--to', 'DATA/media', '--rtmp-port', 'PORT', '--live-ladder', LIVE_LADDER.join(','), '--segment-duration', 'S', '--preset', PRESET, '--reconnect-grace', '0']),
      ingestLowLatency: formatCommand('node', ['bin/run.js', 'ingest', '--data-dir', 'DATA', '--to', 'DATA/media', '--rtmp-port', 'PORT', '--live-ladder', LIVE_LADDER.join(','), '--segment-duration', '2', '--preset', PRESET, '--reconnect-grace', '0', '--low-latency', '--part-duration', 'P', '--origin-port', '0']),
      serve: formatCommand('node', ['bin/run.js', 'serve', '--data-dir', 'DATA', '--port', 'HTTP_PORT']),
      push: formatCommand('ffmpeg', pushArgs(clip, 'rtmp://127.0.0.1:PORT/live/KEY')),
    },
  }
  await writeFile(path.join(REPO_ROOT, WORK_DIR, 'glass-report.json'), `${JSON.stringify(report, null, 2)}\n`)
  const section = renderGlass(report)
  process.stdout.write(`\n${section}\n`)
  await writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), section)
  process.stdout.write('Wrote the "## Live: glass to glass" section of BENCHMARKS.md\n')
}

export function renderGlass(report) {
  const fmt = (value, digits = 2) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))
  const lines = [
    '## Live: glass to glass',
    '',
    `Measured ${new Date(report.startedAt).toISOString().replace(/\.\d+Z$/, 'Z')} with \`node bench/live.mjs --glass --glass-rounds ${report.options.glassRounds} --push-seconds ${report.options.pushSeconds} --segments ${report.options.segments.join(',')}\` (\`npm run bench:live\` runs it after the glass-to-publish part).`,
    '',
    `- Machine: ${report.machine.cores} cores (nproc), ${report.machine.cpuModel}, ${report.machine.memoryGib.toFixed(1)} GiB RAM, ${report.machine.kernel}; Node ${report.machine.node}; Chromium ${report.chromium} (Debian, headless, software decoding and compositing), everything on this one machine.`,
    `- FFmpeg: ${report.ffmpeg.version} (\`${report.ffmpeg.path}\`). Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- **Glass to glass** of a frame: the wall time Chromium presented it, minus the wall time it was pushed. The push is the barcode clip of the Live section (1280x720 30 fps, frame number as a 16-bit barcode, 1 s GOPs, no B-frames; \`ffmpeg -re -c copy\` to \`livectl ingest\`), whose \`-progress\` reports give the wall time of media time 0; frame n was pushed n/30 s later. \`livectl ingest\` encodes the live ladder (${report.ladder.join(', ')}, x264 ${PRESET}) and publishes to a folder; \`livectl serve\` serves the watch page and the media from it on the same machine; the page (\`/watch/ID?player=hls|dash\`, a 1280x800 window, so the player may pick 720p) plays it. On each frame the browser presents, a \`requestVideoFrameCallback\` draws the barcode strip to a canvas and reads the number (each bit is drawn beside its complement, so a misread is detected and dropped, never mistaken); presented at \`performance.timeOrigin + expectedDisplayTime\`. Frames pushed in the first ${report.warmupSeconds} s (ingest start-up, player join) are not counted.`,
    '- Segment-only live (`ingest` without `--low-latency`, players reading storage through `serve`): each player with its default live settings, and with its low-latency knobs (merged by the watch page from `window.livectlPlayerSettings`). hls.js low-latency: `lowLatencyMode: true, liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3, maxLiveSyncPlaybackRate: 1.5`. dash.js low-latency: `streaming.delay.liveDelay` 1.5 segments, `liveCatchup` on with playback rate -0.2..+0.5.',
    '- Low latency (`ingest --low-latency --part-duration P`, 2 s segments): the page plays the ingest origin\'s LL-HLS (hls.js `lowLatencyMode`, catch-up up to 1.5x) or LL-DASH (dash.js, catch-up to the MPD\'s latency target) as `GET /videos/ID` hands it out; nothing is set by the benchmark.',
    '- Stalls: `waiting` events of the video element after the warm-up. Renditions: the picture heights that were presented.',
    '',
  ]
  const llRuns = report.runs.filter((candidate) => candidate.partSeconds !== undefined)
  if (llRuns.length > 0) {
    lines.push('### Low latency: LL-HLS and LL-DASH from the origin, 2 s segments', '')
    lines.push(`All frames counted in the ${report.options.glassRounds} push(es) of each player and part duration, pooled; then every push on its own.`, '')
    lines.push('| player | part duration (s) | median (s) | p90 (s) | min | max | frames counted | stalls | heights presented |')
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---|')
    for (const partSeconds of report.options.llParts) {
      for (const id of ['hls-ll', 'dash-ll']) {
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
