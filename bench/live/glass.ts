/**
 * Glass-to-glass latency of livectl live, in a real player: the same barcode clip as the
 * glass-to-publish part is pushed to `livectl ingest` (its default live ladder), `livectl serve`
 * serves the watch page on the same data directory, and headless Chromium plays it there with
 * hls.js or dash.js, with each player's default live settings and with its low-latency settings.
 * On every frame the browser presents (requestVideoFrameCallback), the page draws the barcode strip
 * to a canvas and reads the frame number; glass to glass = the wall time the frame was presented
 * (performance.timeOrigin + expectedDisplayTime) - the wall time it was pushed.
 *
 *   npx tsx bench/live/main.ts --glass [--glass-rounds 2] [--push-seconds 36] [--segments 2,1] [--ll-parts 0.333,0.2,0.5,1] [--stall 8]      this part only
 *
 * With --stall N, the low-latency players also play pushes whose origin answers nothing for N s in
 * the middle (the page's requests held, as test/integration/watch-page.test.ts does), and the
 * latency before the stall is compared with the latency in the 20 s after playback resumed.
 *
 * Writes the `## Live: glass to glass` section of BENCHMARKS.md.
 */
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'

import {type Browser, chromium, type Page} from 'playwright-core'

import {DEFAULT_LIVE_LADDER} from '../../src/lib/media/ladder.js'
import {mediaTools} from '../../src/lib/media/tools.js'
import {BITS, BLOCKS, createKey, ensureClip, FRAME_RATE, now, pushArgs, pushStartOf, startFfmpeg, STRIP_FRACTION, WORK_DIR} from '../support/live-push.js'
import {freePort, httpRequest} from '../support/net.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {busyShare, machineCpuTicks} from '../support/proc.js'
import {formatCommand, loadAverage, machineFacts, writeSection} from '../support/report.js'
import {benchEnvironment, ffmpegVersion, startServerProcess, stopProcess} from '../support/spawn.js'
import {lowLatencyConfigs, pageProbe, type PlayerConfig, playerConfigs, stallConfigs} from './glass-page.js'
import {type GlassReport, type GlassRun, renderGlass, type StallResult, statistics} from './glass-report.js'
import {GLASS_WARMUP_SECONDS, type LiveOptions, STALL_AFTER_SECONDS, STALL_BEFORE_SECONDS, stallPushSeconds} from './options.js'
import {PRESET} from './push.js'

const LIVE_LADDER = [...DEFAULT_LIVE_LADDER]
const CHROMIUM = process.env.LIVECTL_BENCH_CHROMIUM ?? '/usr/bin/chromium'
/** The part duration of the stall scenario when --ll-parts lists none. */
const STALL_PART_SECONDS = 0.333
/** What the watch page logs when it takes a stalled low-latency hls.js player back to the live edge (src/web/players.ts). */
const BACK_TO_EDGE = 'back to the live edge'

/** The fields of GET /videos and GET /videos/ID read here. */
interface VideoSummary {
  id: string
  status: string
}

interface VideoDetail extends VideoSummary {
  hlsUrl: string | null
  dashUrl: string | null
}

async function waitForLiveVideo(api: string, known: Set<string>): Promise<string> {
  const deadline = now() + 30
  while (now() < deadline) {
    const {body} = await httpRequest(`${api}/videos?limit=5`)
    const fresh = (JSON.parse(body) as {videos: VideoSummary[]}).videos.find((video) => video.status === 'live' && !known.has(video.id))
    if (fresh) {
      const detail = JSON.parse((await httpRequest(`${api}/videos/${fresh.id}`)).body) as VideoDetail
      if (detail.hlsUrl) return fresh.id
    }

    await sleep(100)
  }

  throw new Error('no live video with playlists appeared within 30 s of the push')
}

async function waitForEnded(api: string, videoId: string): Promise<void> {
  const deadline = now() + 60
  while (now() < deadline) {
    const {body} = await httpRequest(`${api}/videos/${videoId}`)
    if ((JSON.parse(body) as VideoSummary).status !== 'live') return
    await sleep(200)
  }
}

/** When the origin was held and let go (epoch ms), and what was held. */
interface Outage {
  heldAtMs: number
  releasedAtMs: number
  pattern: string
}

/**
 * Holds every request of the page to the origin it plays from for `seconds`, starting
 * `startAfterSeconds` after media time 0 of the push: the origin answers nothing meanwhile, then
 * everything it was asked.
 */
async function holdOrigin(page: Page, {api, videoId, player, pushStart, startAfterSeconds, seconds}: {
  api: string
  videoId: string
  player: PlayerConfig['player']
  pushStart: () => number
  startAfterSeconds: number
  seconds: number
}): Promise<Outage> {
  while (!Number.isFinite(pushStart())) await sleep(50)
  const wait = pushStart() + startAfterSeconds - now()
  if (wait > 0) await sleep(wait * 1000)
  // The URL the page plays: a low-latency stream is played from its ingest node's origin while it is live.
  const detail = JSON.parse((await httpRequest(`${api}/videos/${videoId}`)).body) as VideoDetail
  const mediaUrl = player === 'hls' ? detail.hlsUrl : detail.dashUrl
  if (!mediaUrl) throw new Error(`video ${videoId} has no ${player} URL to hold`)
  const pattern = `${mediaUrl.slice(0, mediaUrl.lastIndexOf('/'))}/**`
  let release = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  await page.route(pattern, async (route) => {
    await held
    await route.continue().catch(() => undefined)
  })
  const heldAtMs = performance.timeOrigin + performance.now()
  await sleep(seconds * 1000) // the outage itself, not a wait for something
  release()
  const releasedAtMs = performance.timeOrigin + performance.now()
  await page.unroute(pattern)
  return {heldAtMs, releasedAtMs, pattern}
}

/** Latency before the outage, and in the STALL_AFTER_SECONDS after playback resumed (the first frame presented after the release). */
function stallResult(outage: Outage, shown: ReadonlyArray<{latency: number; shownAt: number}>, steadyFromMs: number, edgeJumps: number): StallResult {
  const before = shown.filter((frame) => frame.shownAt >= steadyFromMs && frame.shownAt < outage.heldAtMs).map((frame) => frame.latency)
  const resumed = shown.find((frame) => frame.shownAt >= outage.releasedAtMs)
  const windowEndMs = (resumed?.shownAt ?? Number.POSITIVE_INFINITY) + STALL_AFTER_SECONDS * 1000
  const after = resumed ? shown.filter((frame) => frame.shownAt >= resumed.shownAt && frame.shownAt < windowEndMs) : []
  return {
    stallSeconds: (outage.releasedAtMs - outage.heldAtMs) / 1000,
    before: statistics(before),
    resumedAfter: resumed ? (resumed.shownAt - outage.releasedAtMs) / 1000 : undefined,
    resumedBehind: resumed?.latency,
    after: statistics(after.map((frame) => frame.latency)),
    afterSpanSeconds: after.length > 0 ? ((after.at(-1)?.shownAt ?? 0) - (resumed?.shownAt ?? 0)) / 1000 : 0,
    edgeJumps,
  }
}

interface RunContext {
  browser: Browser
  api: string
  rtmpUrl: string
  clip: string
  config: PlayerConfig
  ffmpeg: string
  env: NodeJS.ProcessEnv
  known: Set<string>
  segmentSeconds: number
  clipSeconds: number
}

async function runOne({browser, api, rtmpUrl, clip, config, ffmpeg, env, known, segmentSeconds, clipSeconds}: RunContext): Promise<Omit<GlassRun, 'round'>> {
  const context = await browser.newContext({viewport: {width: 1280, height: 800}})
  // tsx keeps function names with esbuild's __name helper, which the serialised probe calls in the page.
  await context.addInitScript({content: 'globalThis.__name = (target) => target'})
  await context.addInitScript(pageProbe, {settings: config.settings, blocks: BLOCKS, bits: BITS, stripFraction: STRIP_FRACTION})
  const pusher = startFfmpeg(ffmpeg, pushArgs(clip, rtmpUrl), {cwd: REPO_ROOT, env})
  let videoId: string | undefined
  try {
    videoId = await waitForLiveVideo(api, known)
    known.add(videoId)
    const page = await context.newPage()
    let edgeJumps = 0
    page.on('console', (message) => {
      if (message.type() === 'warning' && message.text().includes(BACK_TO_EDGE)) edgeJumps++
    })
    await page.goto(`${api}/watch/${videoId}?player=${config.player}`)
    const outage = config.stallSeconds === undefined
      ? undefined
      : holdOrigin(page, {
          api, videoId, player: config.player, pushStart: () => pushStartOf(pusher), startAfterSeconds: GLASS_WARMUP_SECONDS + STALL_BEFORE_SECONDS, seconds: config.stallSeconds,
        })
    // Settled here or below, whichever comes first: a failed hold must not go unhandled while the push runs.
    outage?.catch(() => undefined)
    const cpuStart = machineCpuTicks()
    const pushExit = await pusher.exited
    if (pushExit.code !== 0) throw new Error(`the push exited with ${pushExit.signal ?? pushExit.code}:\n${pusher.stderr().trim()}`)
    const cpuEnd = machineCpuTicks()
    // The player is seconds behind: let it show the rest of what was pushed (or give up after 20 s).
    const lastFrame = clipSeconds * FRAME_RATE - 1
    const played = now() + 20
    while (now() < played && (await page.evaluate(() => Math.max(-1, ...window.livectlGlass.frames.map(([frame]) => frame)))) < lastFrame - FRAME_RATE) await sleep(250)
    const state = await page.evaluate(() => ({
      ...window.livectlGlass, heights: [...window.livectlGlass.heights], kind: document.body.dataset.playerKind, error: document.querySelector('[data-testid="player-error"]')?.textContent ?? '',
    }))
    // Wall time of media time 0 at the pusher (seconds on this process's clock, then epoch ms).
    const pushStartEpochMs = performance.timeOrigin + pushStartOf(pusher) * 1000
    const steadyFromMs = pushStartEpochMs + GLASS_WARMUP_SECONDS * 1000
    const latencies: number[] = []
    const shown: Array<{latency: number; shownAt: number}> = []
    let firstShown: number | undefined
    for (const [frame, shownAt] of state.frames) {
      const pushedAt = pushStartEpochMs + (1000 * frame) / FRAME_RATE
      firstShown ??= shownAt - pushStartEpochMs
      if (pushedAt >= steadyFromMs && frame < clipSeconds * FRAME_RATE) {
        latencies.push((shownAt - pushedAt) / 1000)
        shown.push({latency: (shownAt - pushedAt) / 1000, shownAt})
      }
    }

    const stalls = state.waiting.filter((at) => at >= steadyFromMs).length
    return {
      id: config.id, label: config.label, player: config.player, settings: config.settings, segmentSeconds, partSeconds: config.partSeconds, videoId, kind: state.kind,
      latency: statistics(latencies), latencies, firstFrameShownAfter: firstShown === undefined ? undefined : firstShown / 1000,
      framesRead: state.frames.length, misreads: state.misreads, stalls, heights: state.heights.sort((a, b) => b - a),
      playerError: state.error, machineBusy: busyShare(cpuStart, cpuEnd),
      ...(outage ? {stall: stallResult(await outage, shown, steadyFromMs, edgeJumps)} : {}),
    }
  } finally {
    await stopProcess(pusher, 'SIGKILL')
    await context.close()
    if (videoId) await waitForEnded(api, videoId)
  }
}

interface Setting {
  label: string
  segmentSeconds: number
  ingestFlags: string[]
  configs: PlayerConfig[]
  clip: string
  clipSeconds: number
}

export async function runGlass({pushSeconds, segments, keep, glassRounds = 2, llParts = [], stallSeconds}: LiveOptions): Promise<void> {
  const {ffmpeg} = await mediaTools()
  const env = benchEnvironment()
  const dataDir = path.join(WORK_DIR, 'glass-data')
  await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  await mkdir(path.join(REPO_ROOT, dataDir), {recursive: true})
  const clip = await ensureClip(ffmpeg, {width: 1280, height: 720, seconds: pushSeconds, videoKbps: 4000}, env)
  const stallPush = stallSeconds === undefined ? undefined : stallPushSeconds(stallSeconds, pushSeconds)
  const stallClip = stallPush === undefined ? undefined : await ensureClip(ffmpeg, {width: 1280, height: 720, seconds: stallPush, videoKbps: 4000}, env)
  const key = await createKey(dataDir, env)
  const version = await ffmpegVersion(ffmpeg)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  })
  const chromiumVersion = browser.version()
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const runs: GlassRun[] = []
  const lowLatencyFlags = (partSeconds: number) => ['--low-latency', '--part-duration', String(partSeconds), '--origin-port', '0']
  try {
    // One ingest and serve per setting; every player and round of it pushes to that ingest.
    const runSetting = async ({label, segmentSeconds, ingestFlags, configs, clip: settingClip, clipSeconds}: Setting) => {
      const rtmpPort = await freePort()
      const httpPort = await freePort()
      const ingestArgs = ['bin/run.js', 'ingest', '--data-dir', dataDir, '--to', path.join(dataDir, 'media'), '--rtmp-port', String(rtmpPort), '--live-ladder', LIVE_LADDER.join(','), '--segment-duration', String(segmentSeconds), '--preset', PRESET, '--reconnect-grace', '0', ...ingestFlags]
      const ingest = await startServerProcess(process.execPath, ingestArgs, {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /livectl ingest listening on (rtmp:\/\/\S+)\/KEY/})
      const serve = await startServerProcess(process.execPath, ['bin/run.js', 'serve', '--data-dir', dataDir, '--port', String(httpPort)], {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /listening on (http:\/\/\S+)/})
      const known = new Set<string>()
      try {
        for (let round = 1; round <= glassRounds; round++) for (const config of configs) {
          process.stdout.write(`glass ${label} round ${round} ${config.id} ...`)
          const result: GlassRun = {round, ...(await runOne({browser, api: serve.url, rtmpUrl: `${ingest.url}/${key}`, clip: settingClip, config, ffmpeg, env, known, segmentSeconds, clipSeconds}))}
          const fmt = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(2))
          process.stdout.write(` median ${fmt(result.latency.median)} s, p90 ${fmt(result.latency.p90)} s over ${result.latency.samples} frames, ${result.stalls} stall(s), heights ${result.heights.join('/')}${result.playerError ? `, error: ${result.playerError}` : ''}\n`)
          if (result.stall) {
            const {stall} = result
            process.stdout.write(`  held ${fmt(stall.stallSeconds)} s: median ${fmt(stall.before.median)} s before, resumed ${fmt(stall.resumedAfter)} s after the release ${fmt(stall.resumedBehind)} s behind, median ${fmt(stall.after.median)} s in the ${STALL_AFTER_SECONDS} s after (${stall.after.samples} frames), ${stall.edgeJumps} jump(s) to the live edge\n`)
          }

          runs.push(result)
        }
      } finally {
        await serve.stop()
        await ingest.stop()
      }
    }

    for (const segmentSeconds of segments) await runSetting({label: `${segmentSeconds}s`, segmentSeconds, ingestFlags: [], configs: playerConfigs(segmentSeconds), clip, clipSeconds: pushSeconds})
    // Low latency, 2 s segments: LL-HLS and LL-DASH at the first part duration, then LL-HLS at the others.
    for (const [index, partSeconds] of llParts.entries()) {
      await runSetting({label: `LL ${partSeconds}s parts`, segmentSeconds: 2, ingestFlags: lowLatencyFlags(partSeconds), configs: lowLatencyConfigs(partSeconds, index === 0), clip, clipSeconds: pushSeconds})
    }

    // The stall scenario: LL-HLS and LL-DASH at the first part duration, the origin held in the middle of each push.
    if (stallSeconds !== undefined && stallClip !== undefined && stallPush !== undefined) {
      const partSeconds = llParts[0] ?? STALL_PART_SECONDS
      await runSetting({label: `LL ${partSeconds}s parts, stall ${stallSeconds}s`, segmentSeconds: 2, ingestFlags: lowLatencyFlags(partSeconds), configs: stallConfigs(partSeconds, stallSeconds), clip: stallClip, clipSeconds: stallPush})
    }
  } finally {
    await browser.close()
  }

  if (!keep) await rm(path.join(REPO_ROOT, dataDir), {recursive: true, force: true})
  const report: GlassReport = {
    startedAt, loadAtStart, loadAtEnd: loadAverage(), machine: machineFacts(), ffmpeg: {path: ffmpeg, version}, chromium: chromiumVersion,
    options: {pushSeconds, segments, glassRounds, llParts, ...(stallSeconds === undefined ? {} : {stallSeconds, stallPushSeconds: stallPush})},
    runs, warmupSeconds: GLASS_WARMUP_SECONDS, ladder: LIVE_LADDER,
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
  await writeSection(BENCHMARKS_FILE, section)
  process.stdout.write('Wrote the "## Live: glass to glass" section of BENCHMARKS.md\n')
}
