/**
 * Real recordings benchmark: what tone-mapping and deinterlacing cost, and whether live keeps real
 * time with an HDR push.
 *
 *   npm run bench:recordings                          builds, then 3 rounds on 10 s 1080p sources
 *   npx tsx bench/recordings/main.ts --rounds 3 --duration 10 --live-seconds 60
 *
 * VOD: `livectl transcode` with the default ladder and rate control, each source against itself
 * without the step, in one run, alternating:
 *   - HDR: a 1080p30 PQ (BT.2020, 10-bit HEVC) source, against the same bitstream relabelled BT.709
 *     SDR (hevc_metadata: the same decode, no tone-mapping);
 *   - interlaced: a 1080i25 H.264 source (field order tt), against `--deinterlace off`.
 * Wall time and CPU seconds (user + system, all processes) per second of source.
 * Live: the same HDR picture as a 1080p30 H.264 High 10 PQ clip pushed in real time (`-re -c copy`,
 * looped) to `livectl ingest` with its default live ladder, and the SDR picture the same way; the
 * encoder's speed is its `livectl_live_encoder_speed` gauge, sampled every second in the steady part.
 * Writes the `## Real recordings` section of BENCHMARKS.md.
 */
import type {Buffer} from 'node:buffer'
import {spawn} from 'node:child_process'
import {mkdir, rm} from 'node:fs/promises'
import path from 'node:path'
import console from 'node:console'
import {performance} from 'node:perf_hooks'
import process from 'node:process'
import {parseArgs} from 'node:util'
import {setTimeout as sleep} from 'node:timers/promises'

import {freePort, httpRequest} from '../support/net.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {loadAverage, machineFacts, writeSection} from '../support/report.js'
import {capture, startServerProcess} from '../support/spawn.js'
import {median} from '../support/stats.js'

const WORK_DIR = path.join(REPO_ROOT, '.bench-work', 'recordings')
const {values: options} = parseArgs({
  options: {
    rounds: {type: 'string', default: '3'},
    duration: {type: 'string', default: '10'},
    'live-seconds': {type: 'string', default: '60'},
    'skip-live': {type: 'boolean', default: false},
  },
})
const ROUNDS = Number(options.rounds)
const DURATION = Number(options.duration)
const LIVE_SECONDS = Number(options['live-seconds'])
const LIVE_STEADY_AFTER_SECONDS = 15

const ffmpeg = 'ffmpeg'
const QUIET = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
/** A camera-like 1080p picture: moving test pattern with sensor-like noise. */
const PICTURE = (size: string, rate: number, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds},noise=alls=6:allf=t`]
const TO_YUV = 'format=gbrp,zscale=min=gbr:rin=full:pin=709:tin=709:p=709:t=709:m=709:r=limited,format=yuv420p'
const TO_PQ = 'zscale=t=linear:npl=203,format=gbrpf32le,zscale=p=bt2020:t=smpte2084:m=bt2020nc:r=tv:npl=203,format=yuv420p10le'
const PQ_TAGS = ['-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc']
const TONE = (seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`]

interface Timed {
  wallSeconds: number
  cpuSeconds: number
}

interface Contender {
  id: string
  label: string
  input: string
  extra: string[]
}

interface VodResults {
  contenders: Contender[]
  results: Record<string, Timed[]>
}

interface LiveSpeed {
  median: number
  min: number
  samples: number
}

type SourceFile = (name: string) => string

async function makeSources(): Promise<SourceFile> {
  await mkdir(WORK_DIR, {recursive: true})
  const file = (name: string) => path.join(WORK_DIR, name)
  const run = (args: string[]) => capture(ffmpeg, [...QUIET, ...args])
  console.log('making sources...')
  await run([...PICTURE('1920x1080', 30, DURATION), ...TONE(DURATION), '-vf', `${TO_YUV},${TO_PQ}`, '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:crf=16', ...PQ_TAGS, '-tag:v', 'hvc1', '-c:a', 'aac', file('hdr-pq.mp4')])
  // The same bitstream said to be BT.709 SDR: decoded the same, not tone-mapped.
  await run(['-i', file('hdr-pq.mp4'), '-c', 'copy', '-bsf:v', 'hevc_metadata=colour_primaries=1:transfer_characteristics=1:matrix_coefficients=1', file('hdr-as-sdr.mp4')])
  await run([...PICTURE('1920x1080', 50, DURATION), ...TONE(DURATION), '-vf', 'tinterlace=mode=interleave_top,setfield=tff', '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '15M', '-flags', '+ildct+ilme', '-x264-params', 'tff=1', '-c:a', 'aac', '-f', 'mpegts', file('interlaced.ts')])
  if (!options['skip-live']) {
    await run([...PICTURE('1920x1080', 30, 20), '-vf', `${TO_YUV},${TO_PQ}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'high10', '-g', '30', '-b:v', '8M', ...PQ_TAGS, '-an', file('live-hdr.mp4')])
    await run([...PICTURE('1920x1080', 30, 20), '-vf', TO_YUV, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-b:v', '8M', '-an', file('live-sdr.mp4')])
  }

  return file
}

/** Runs a command under /usr/bin/time: wall seconds and CPU seconds of it and its children. */
async function timed(file: string, args: string[]): Promise<Timed> {
  const started = performance.now()
  const child = spawn('/usr/bin/time', ['-f', 'cpu %U %S', file, ...args], {cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const wallSeconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${code}: ${stderr}`)
  const [, user, system] = /cpu ([\d.]+) ([\d.]+)/.exec(stderr) ?? []
  return {wallSeconds, cpuSeconds: Number(user) + Number(system)}
}

async function runVod(file: SourceFile): Promise<VodResults> {
  const contenders: Contender[] = [
    {id: 'hdr', label: 'PQ source, tone-mapped', input: file('hdr-pq.mp4'), extra: []},
    {id: 'hdr-base', label: 'same bitstream as SDR', input: file('hdr-as-sdr.mp4'), extra: []},
    {id: 'interlaced', label: '1080i25, deinterlaced (auto)', input: file('interlaced.ts'), extra: []},
    {id: 'interlaced-base', label: '1080i25, --deinterlace off', input: file('interlaced.ts'), extra: ['--deinterlace', 'off']},
  ]
  const results: Record<string, Timed[]> = Object.fromEntries(contenders.map((contender) => [contender.id, []]))
  for (let round = 1; round <= ROUNDS; round++) {
    for (const contender of contenders) {
      const out = path.join(WORK_DIR, 'out', contender.id)
      await rm(out, {recursive: true, force: true})
      const result = await timed(process.execPath, ['bin/run.js', 'transcode', contender.input, '-o', out, ...contender.extra])
      results[contender.id]?.push(result)
      console.log(`round ${round} ${contender.id}: ${result.wallSeconds.toFixed(2)} s wall, ${result.cpuSeconds.toFixed(2)} s CPU`)
    }
  }

  return {contenders, results}
}

async function runLive(file: SourceFile): Promise<Record<'hdr' | 'sdr', LiveSpeed>> {
  const dataDir = path.join(WORK_DIR, 'live-data')
  await rm(dataDir, {recursive: true, force: true})
  const {key} = JSON.parse(await capture(process.execPath, ['bin/run.js', 'keys', 'create', 'bench-hdr', '--data-dir', dataDir, '--json'], {cwd: REPO_ROOT})) as {key: string}
  const results: Partial<Record<'hdr' | 'sdr', LiveSpeed>> = {}
  for (const [id, clip] of [['hdr', 'live-hdr.mp4'], ['sdr', 'live-sdr.mp4']] as const) {
    const rtmpPort = await freePort()
    const metricsPort = await freePort()
    const store = path.join(WORK_DIR, 'live-store', id)
    await rm(store, {recursive: true, force: true})
    const server = await startServerProcess(process.execPath, ['bin/run.js', 'ingest', '--data-dir', dataDir, '--to', store, '--rtmp-port', String(rtmpPort), '--reconnect-grace', '0', '--metrics-port', String(metricsPort)], {
      cwd: REPO_ROOT, stream: 'stderr', pattern: /livectl ingest listening on (rtmp:\/\/\S+)\/KEY/,
    })
    const samples: number[] = []
    const started = performance.now()
    const push = spawn(ffmpeg, [...QUIET, '-re', '-stream_loop', '-1', '-i', file(clip), '-t', String(LIVE_SECONDS), '-c', 'copy', '-f', 'flv', `${server.url}/${key}`], {stdio: 'ignore'})
    const pushed = new Promise((resolve) => push.on('close', resolve))
    let pushing = true
    void pushed.then(() => (pushing = false))
    try {
      while (pushing) {
        const {status, body} = await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => ({status: 0, body: ''}))
        const match = status === 200 ? /^livectl_live_encoder_speed\{[^}]*\}\s+(\S+)$/m.exec(body) : null
        const seconds = (performance.now() - started) / 1000
        if (match && seconds >= LIVE_STEADY_AFTER_SECONDS) samples.push(Number(match[1]))
        await sleep(1000)
      }
    } finally {
      push.kill('SIGKILL')
      await server.stop()
    }

    const speed = {median: median(samples), min: Math.min(...samples), samples: samples.length}
    results[id] = speed
    console.log(`live ${id}: encoder speed median ${speed.median?.toFixed(3)} (min ${speed.min.toFixed(3)}, ${samples.length} samples)`)
  }

  if (!results.hdr || !results.sdr) throw new Error('a live push was not measured')
  return {hdr: results.hdr, sdr: results.sdr}
}

function render(vod: VodResults, live: Record<'hdr' | 'sdr', LiveSpeed> | undefined, facts: string): string {
  const perSecond = (runs: readonly Timed[], key: keyof Timed) => median(runs.map((run) => run[key] / DURATION))
  const row = (contender: Contender) => {
    const runs = vod.results[contender.id] ?? []
    return `| ${contender.label} | ${perSecond(runs, 'wallSeconds').toFixed(3)} | ${perSecond(runs, 'cpuSeconds').toFixed(3)} | ${runs.map((run) => run.wallSeconds.toFixed(1)).join(', ')} |`
  }

  const ratio = (a: string, b: string, key: keyof Timed) => (perSecond(vod.results[a] ?? [], key) / perSecond(vod.results[b] ?? [], key)).toFixed(3)
  const lines = [
    '## Real recordings',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npx tsx bench/recordings/main.ts --rounds ${ROUNDS} --duration ${DURATION}${live ? ` --live-seconds ${LIVE_SECONDS}` : ''}\` on ${facts}; load average before: ${loadAverage()}.`,
    '',
    `- VOD: \`livectl transcode\` with the default ladder (1080p, 720p, 480p, 144p), capped-crf, x264 veryfast, on ${DURATION} s 1080p sources (a moving test pattern with noise); ${ROUNDS} rounds, contenders alternating; medians. The HDR source is 10-bit HEVC PQ; its baseline is the same bitstream relabelled BT.709 (hevc_metadata), so both decode alike and only the tone-mapping differs. The interlaced source is 1080i25 H.264 (field order tt); its baseline is \`--deinterlace off\` on the same file.`,
    '',
    '| source | wall s per source s | CPU s per source s | wall per round (s) |',
    '|---|---|---|---|',
    ...vod.contenders.map(row),
    '',
    `- Tone-mapping (the colour LUT at 1080p): **${ratio('hdr', 'hdr-base', 'wallSeconds')}x** the wall time and ${ratio('hdr', 'hdr-base', 'cpuSeconds')}x the CPU of the same source without it.`,
    `- Deinterlacing (bwdif at 1080i): **${ratio('interlaced', 'interlaced-base', 'wallSeconds')}x** the wall time and ${ratio('interlaced', 'interlaced-base', 'cpuSeconds')}x the CPU.`,
  ]
  if (live) {
    lines.push(
      '',
      `- Live: a 1080p30 H.264 High 10 PQ clip pushed in real time (\`ffmpeg -re -stream_loop -1 -c copy\`, ${LIVE_SECONDS} s) to \`livectl ingest\` with its default live ladder (720p, 480p, 144p, x264 veryfast), and the same picture as 8-bit SDR; encoder speed (\`livectl_live_encoder_speed\`, media seconds per wall second over 5 s windows) sampled every second after the first ${LIVE_STEADY_AFTER_SECONDS} s.`,
      '',
      '| push | encoder speed, median | min | samples |',
      '|---|---|---|---|',
      `| HDR PQ 1080p30, tone-mapped | **${live.hdr.median.toFixed(3)}** | ${live.hdr.min.toFixed(3)} | ${live.hdr.samples} |`,
      `| SDR 1080p30 | ${live.sdr.median.toFixed(3)} | ${live.sdr.min.toFixed(3)} | ${live.sdr.samples} |`,
    )
  }

  return `${lines.join('\n')}\n`
}

const file = await makeSources()
const vod = await runVod(file)
const live = options['skip-live'] ? undefined : await runLive(file)
const facts = machineFacts()
const section = render(vod, live, `${facts.cores} cores (${facts.cpuModel}), Node ${facts.node}`)
console.log(section)
await writeSection(BENCHMARKS_FILE, section)
