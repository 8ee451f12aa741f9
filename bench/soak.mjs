/**
 * Soak: one long live push (1080p30 barcode clip looped, livectl's default live ladder) to
 * `livectl ingest` publishing to a local S3 server (moto), sampled every 10 s: memory (RSS) and
 * open file descriptors of the ingest process and of its encoder, the encoder's speed, the
 * glass-to-publish latency of the newest segment (read from the frame number burnt into its
 * first frame), and the segments in storage. At the end: every segment in storage once, in order,
 * none missing.
 *
 *   npm run bench:soak                       builds, then 30 minutes
 *   node bench/soak.mjs --minutes 30 [--keep]
 *
 * Writes the `## Soak` section of BENCHMARKS.md. Plain ESM.
 */
import {Buffer} from 'node:buffer'
import {readdirSync, readFileSync} from 'node:fs'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'
import {parseArgs} from 'node:util'

import {createKey, ensureClip, FRAME_RATE, importDist, now, readFrameNumber, REPO_ROOT, startFfmpeg} from './live-clip.mjs'
import {environmentWithout, formatCommand, freePort, httpRequest, loadAverage, machineFacts, median, processTree, slope, startServerProcess, writeSection} from './support.mjs'

const WORK_DIR = path.join('.bench-work', 'soak')
const SAMPLE_SECONDS = 10
const SEGMENT_SECONDS = 2
const CLIP_SECONDS = 60
const WARMUP_MINUTES = 5
const BUCKET = 'soak'

function parseOptions() {
  const {values} = parseArgs({options: {minutes: {type: 'string', default: '30'}, keep: {type: 'boolean', default: false}, 'render-only': {type: 'boolean', default: false}, help: {type: 'boolean', short: 'h', default: false}}})
  if (values.help) {
    process.stdout.write('Usage: node bench/soak.mjs [--minutes 30] [--keep]\n       node bench/soak.mjs --render-only    rewrites the section from .bench-work/soak/report.json\n')
    process.exit(0)
  }

  if (values['render-only']) return {renderOnly: true}

  const minutes = Number(values.minutes)
  if (!(minutes >= 1 && minutes <= 600)) throw new Error(`--minutes must be from 1 to 600 (got ${values.minutes})`)
  return {minutes, keep: values.keep}
}

function readStatusKib(pid, field) {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

function openFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return 0
  }
}

function commandOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? ''
  } catch {
    return ''
  }
}

async function main() {
  const options = parseOptions()
  if (options.renderOnly) {
    const report = JSON.parse(readFileSync(path.join(REPO_ROOT, WORK_DIR, 'report.json'), 'utf8'))
    const section = render({...report, startedAt: new Date(report.startedAt)})
    process.stdout.write(`${section}\n`)
    await writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), section)
    return
  }

  const {mediaTools} = await importDist('lib/media/tools.js')
  const progress = await importDist('lib/media/progress.js')
  const {ffmpeg} = await mediaTools()
  const env = {...environmentWithout('LIVECTL_', ['LIVECTL_FFMPEG', 'LIVECTL_FFPROBE']), AWS_ACCESS_KEY_ID: 'soak', AWS_SECRET_ACCESS_KEY: 'soak', AWS_REGION: 'us-east-1'}
  const {S3Client, CreateBucketCommand, ListObjectsV2Command, GetObjectCommand} = await import('@aws-sdk/client-s3')
  await rm(path.join(REPO_ROOT, WORK_DIR), {recursive: true, force: true})
  const dataDir = path.join(WORK_DIR, 'data')
  const scratch = path.join(REPO_ROOT, WORK_DIR, 'scratch')
  await mkdir(scratch, {recursive: true})
  const clip = await ensureClip(ffmpeg, {width: 1920, height: 1080, seconds: CLIP_SECONDS, videoKbps: 6000}, env)
  const key = await createKey(dataDir, env)

  const motoPort = await freePort()
  const moto = await startServerProcess('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(motoPort)], {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /Running on (http:\/\/127\.0\.0\.1:\d+)/})
  const s3 = new S3Client({endpoint: moto.url, forcePathStyle: true, region: 'us-east-1', credentials: {accessKeyId: 'soak', secretAccessKey: 'soak'}})
  await s3.send(new CreateBucketCommand({Bucket: BUCKET}))
  const rtmpPort = await freePort()
  const metricsPort = await freePort()
  const ingestArgs = ['bin/run.js', 'ingest', '--data-dir', dataDir, '--to', `s3://${BUCKET}/live`, '--s3-endpoint', moto.url, '--rtmp-port', String(rtmpPort), '--metrics-port', String(metricsPort), '--segment-duration', String(SEGMENT_SECONDS), '--reconnect-grace', '0']
  const ingest = await startServerProcess(process.execPath, ingestArgs, {cwd: REPO_ROOT, env, stream: 'stderr', pattern: /livectl ingest listening on (rtmp:\/\/\S+)\/KEY/})
  const pushSeconds = options.minutes * 60
  const pushArgs = ['-hide_banner', '-nostdin', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1', '-stats_period', '0.5', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-t', String(pushSeconds), '-f', 'flv', `${ingest.url}/${key}`]
  const startedAt = new Date()
  const loadAtStart = loadAverage()
  const pusher = startFfmpeg(ffmpeg, pushArgs, progress.createProgressParser, {cwd: REPO_ROOT, env})

  // The video, once ingest has it in storage.
  let videoId
  while (!videoId) {
    const listed = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: 'live/', Delimiter: '/'}))
    videoId = listed.CommonPrefixes?.[0]?.Prefix?.split('/')[1]
    if (!videoId) await sleep(200)
  }

  const prefix = `live/${videoId}/`
  const text = async (objectKey) => (await s3.send(new GetObjectCommand({Bucket: BUCKET, Key: objectKey}))).Body?.transformToString()
  const bytes = async (objectKey) => Buffer.from(await (await s3.send(new GetObjectCommand({Bucket: BUCKET, Key: objectKey}))).Body.transformToByteArray())
  const countStored = async () => {
    let count = 0
    let token
    do {
      const page = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: prefix, ContinuationToken: token}))
      count += (page.Contents ?? []).filter((object) => object.Key?.endsWith('.m4s') && !object.Key.includes('init-')).length
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return count
  }

  // First sight of each segment of the top rung, from its live playlist read every 500 ms.
  const firstSeen = new Map()
  let watching = true
  const watcher = (async () => {
    while (watching) {
      const playlist = await text(`${prefix}media_0.m3u8`).catch(() => undefined)
      const at = now()
      for (const line of (playlist ?? '').split('\n')) if (line.startsWith('seg-0-') && !firstSeen.has(line)) firstSeen.set(line, at)
      await sleep(500)
    }
  })()

  const samples = []
  const pushStartWall = () => Math.min(...pusher.samples.filter((sample) => sample.media > 0).map((sample) => sample.wall - sample.media))
  const sampleOnce = async () => {
    const tree = processTree([ingest.child.pid])
    const encoder = tree.find((pid) => pid !== ingest.child.pid && /ffmpeg/.test(commandOf(pid)))
    const metrics = await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => ({body: ''}))
    const speed = Number(/^livectl_live_encoder_speed\{[^}]*\}\s+(\S+)$/m.exec(metrics.body)?.[1] ?? Number.NaN)
    // Glass to publish of the newest segment: when it was first listed minus when its first frame was pushed.
    const newest = [...firstSeen.entries()].at(-1)
    let latency
    if (newest && pusher.samples.length > 0) {
      const local = path.join(scratch, 'newest.m4s')
      const init = path.join(scratch, 'init.m4s')
      await writeFile(init, await bytes(`${prefix}init-0.m4s`))
      await writeFile(local, await bytes(`${prefix}${newest[0]}`))
      const frame = await readFrameNumber(ffmpeg, init, local)
      if (frame !== undefined) {
        // The clip loops every CLIP_SECONDS: the loop the frame is in is the one closest to the segment's place in the stream.
        const index = Number(/seg-0-(\d+)\.m4s/.exec(newest[0])?.[1]) - 1
        const framesPerLoop = CLIP_SECONDS * FRAME_RATE
        const expected = index * SEGMENT_SECONDS * FRAME_RATE
        const loop = Math.round((expected - frame) / framesPerLoop)
        const absolute = loop * framesPerLoop + frame
        latency = newest[1] - (pushStartWall() + absolute / FRAME_RATE)
      }
    }

    samples.push({
      elapsed: now() - startWall,
      ingestRssMb: readStatusKib(ingest.child.pid, 'VmRSS') / 1024,
      encoderRssMb: encoder ? readStatusKib(encoder, 'VmRSS') / 1024 : 0,
      ingestFds: openFds(ingest.child.pid),
      encoderFds: encoder ? openFds(encoder) : 0,
      speed,
      latency,
      stored: await countStored(),
    })
    const last = samples.at(-1)
    process.stdout.write(`${(last.elapsed / 60).toFixed(1)} min: ingest ${last.ingestRssMb.toFixed(0)} MB / ${last.ingestFds} fds, encoder ${last.encoderRssMb.toFixed(0)} MB / ${last.encoderFds} fds, speed ${Number.isNaN(last.speed) ? '-' : last.speed.toFixed(2)}, glass-to-publish ${last.latency === undefined ? '-' : last.latency.toFixed(2)} s, ${last.stored} segments stored\n`)
  }

  const startWall = now()
  while (pusher.child.exitCode === null) {
    await sleep(SAMPLE_SECONDS * 1000)
    if (pusher.child.exitCode === null) await sampleOnce()
  }

  const pushExit = await pusher.exited
  // The stream ends (reconnect grace 0): wait for the playlist's end tag.
  const deadline = now() + 120
  let final
  while (now() < deadline) {
    final = await text(`${prefix}media_0.m3u8`).catch(() => undefined)
    if (final?.includes('#EXT-X-ENDLIST')) break
    await sleep(500)
  }

  watching = false
  await watcher
  const finalSegments = (final ?? '').split('\n').filter((line) => line.startsWith('seg-0-'))
  const expectedNames = finalSegments.map((_, index) => `seg-0-${String(index + 1).padStart(5, '0')}.m4s`)
  const missingInPlaylist = expectedNames.filter((name, index) => finalSegments[index] !== name).length
  const duplicates = finalSegments.length - new Set(finalSegments).size
  let storedTop = 0
  let token
  const storedNames = new Set()
  do {
    const page = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: `${prefix}seg-0-`, ContinuationToken: token}))
    for (const object of page.Contents ?? []) storedNames.add(object.Key.slice(prefix.length))
    storedTop += page.Contents?.length ?? 0
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  const missingInStorage = finalSegments.filter((name) => !storedNames.has(name)).length
  const ingestExit = await ingest.stop()
  await moto.stop()
  if (!options.keep) await rm(path.join(REPO_ROOT, WORK_DIR, 'data'), {recursive: true, force: true})

  const report = {
    options, startedAt, loadAtStart, loadAtEnd: loadAverage(), machine: machineFacts(), samples,
    pushExit: {code: pushExit.code}, ended: Boolean(final?.includes('#EXT-X-ENDLIST')),
    segments: {listed: finalSegments.length, storedTop, missingInPlaylist, missingInStorage, duplicates},
    ingestStoppedCleanly: !ingestExit?.killed,
    commands: {ingest: formatCommand('node', ingestArgs.map((arg) => arg.replace(moto.url, 'http://127.0.0.1:MOTO').replace(String(rtmpPort), 'PORT').replace(String(metricsPort), 'MPORT'))), push: formatCommand('ffmpeg', pushArgs.map((arg) => arg.replace(ingest.url, 'rtmp://127.0.0.1:PORT/live')))},
  }
  await writeFile(path.join(REPO_ROOT, WORK_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)
  const section = render(report)
  process.stdout.write(`\n${section}\n`)
  await writeSection(path.join(REPO_ROOT, 'BENCHMARKS.md'), section)
  process.stdout.write('Wrote the "## Soak" section of BENCHMARKS.md\n')
}

function render(report) {
  const fmt = (value, digits = 1) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))
  const warm = report.samples.filter((sample) => sample.elapsed >= WARMUP_MINUTES * 60)
  // Growth is a trend, not one sample: the median of the 5 minutes after the warm-up against the
  // median of the last 5 minutes. Single samples swing with garbage collection (RSS) and with the
  // uploads in flight at that instant (descriptors); the largest one is shown beside it.
  const end = report.samples.at(-1)?.elapsed ?? 0
  const early = warm.filter((sample) => sample.elapsed < (WARMUP_MINUTES + 5) * 60)
  const late = report.samples.filter((sample) => sample.elapsed > end - 5 * 60 && sample.elapsed >= (WARMUP_MINUTES + 5) * 60)
  const growth = (field) => {
    const from = median(early.map((sample) => sample[field]))
    const to = median(late.map((sample) => sample[field]))
    return from > 0 && late.length > 0 ? (to - from) / from : undefined
  }

  const maxGrowth = (field) => {
    const from = median(early.map((sample) => sample[field]))
    return from > 0 ? (Math.max(...warm.map((sample) => sample[field])) - from) / from : undefined
  }
  const latencies = warm.filter((sample) => sample.latency !== undefined)
  const drift = slope(latencies.map((sample) => [sample.elapsed, sample.latency]))
  const speeds = warm.map((sample) => sample.speed).filter((value) => !Number.isNaN(value))
  const checks = [
    ['ingest process RSS: median of the last 5 min against minutes 5-10', growth('ingestRssMb'), maxGrowth('ingestRssMb'), 0.05],
    ['encoder (ffmpeg) RSS, the same', growth('encoderRssMb'), maxGrowth('encoderRssMb'), 0.05],
    ['ingest open file descriptors, the same', growth('ingestFds'), maxGrowth('ingestFds'), 0.05],
    ['encoder open file descriptors, the same', growth('encoderFds'), maxGrowth('encoderFds'), 0.05],
  ]
  const met = (value, target) => (value !== undefined && value < target ? '**met**' : '**not met**')
  const lines = [
    '## Soak',
    '',
    `Measured ${report.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')} with \`node bench/soak.mjs --minutes ${report.options.minutes}\` (\`npm run bench:soak\` builds first and runs 30 minutes).`,
    '',
    `- Machine: ${report.machine.cores} cores (nproc), ${report.machine.cpuModel}, ${report.machine.memoryGib.toFixed(1)} GiB RAM, ${report.machine.kernel}; Node ${report.machine.node}. Load average at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- One ${report.options.minutes}-minute push: a 60 s 1920x1080 30 fps clip (the barcode clip of the Live section, 6 Mbit/s) looped with \`-stream_loop -1 -c copy\`, to \`livectl ingest\` with its default live ladder (720p, 480p, 144p, x264 veryfast, ${SEGMENT_SECONDS} s segments) publishing to a local S3 server (moto 5 on the same machine). Every ${SAMPLE_SECONDS} s: RSS and open file descriptors of the ingest process (Node) and of its encoder (ffmpeg), the encoder speed (its metric), the segments in storage, and the glass-to-publish latency of the newest top-rung segment: when it was first listed in the stored playlist (read every 500 ms) minus when its first frame was pushed (its frame number read from the picture; the loop it belongs to is the one nearest its place in the stream). Growth is the median of the last 5 minutes against the median of minutes ${WARMUP_MINUTES}-${WARMUP_MINUTES + 5} (after start-up and the DVR window filling); the largest single sample after ${WARMUP_MINUTES} minutes is shown beside it, against the same base; drift is the least-squares slope of the latency after ${WARMUP_MINUTES} minutes.`,
    '',
    '| check | growth | largest sample | target | |',
    '|---|---:|---:|---:|---|',
    ...checks.map(([label, value, max, target]) => `| ${label} | ${value === undefined ? '-' : `${fmt(100 * value, 2)} %`} | ${max === undefined ? '-' : `${fmt(100 * max, 2)} %`} | < ${100 * target} % | ${met(value, target)} |`),
    `| glass-to-publish latency drift | ${drift === undefined ? '-' : `${fmt(drift * 3600, 3)} s per hour`} | median ${fmt(median(latencies.map((sample) => sample.latency)), 2)} s, min ${fmt(Math.min(...latencies.map((sample) => sample.latency)), 2)}, max ${fmt(Math.max(...latencies.map((sample) => sample.latency)), 2)} | no drift | ${drift !== undefined && Math.abs(drift * 3600) < SEGMENT_SECONDS ? '**met**' : '**not met**'} |`,
    `| segments missing (from the final playlist, or from storage) | ${report.segments.missingInPlaylist + report.segments.missingInStorage} | of ${report.segments.listed} listed, ${report.segments.storedTop} stored | 0 | ${report.segments.missingInPlaylist + report.segments.missingInStorage === 0 ? '**met**' : '**not met**'} |`,
    `| segments duplicated | ${report.segments.duplicates} | | 0 | ${report.segments.duplicates === 0 ? '**met**' : '**not met**'} |`,
    '',
    `Encoder speed after ${WARMUP_MINUTES} minutes: median ${fmt(median(speeds), 2)}, min ${fmt(Math.min(...speeds), 2)}. The stream ${report.ended ? 'ended with #EXT-X-ENDLIST' : 'did NOT end with #EXT-X-ENDLIST'}; ingest ${report.ingestStoppedCleanly ? 'stopped cleanly on SIGTERM' : 'had to be killed'}. Single descriptor samples above the base are uploads in flight at that instant (a file and a socket each), closed again by the next samples.`,
    '',
    'Earlier runs of this benchmark found two leaks in `ingest`, both fixed: one file descriptor per failed S3 upload attempt (31 to 51 descriptors in 2.7 minutes), and one copy of the growing media playlist kept per segment (RSS 125 to 189 MB in 15 minutes, growing with the square of the stream\'s length). A third run, before the encoder\'s playlists were read only when changed, had RSS 8.5 % up (garbage from re-reading every playlist five times a second).',
    '',
    'One sample a minute:',
    '',
    '| minute | ingest RSS (MB) | ingest fds | encoder RSS (MB) | encoder fds | encoder speed | glass to publish (s) | segments stored (all rungs) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const sample of report.samples.filter((_, index) => index % Math.round(60 / SAMPLE_SECONDS) === Math.round(60 / SAMPLE_SECONDS) - 1)) {
    lines.push(`| ${fmt(sample.elapsed / 60, 0)} | ${fmt(sample.ingestRssMb, 0)} | ${sample.ingestFds} | ${fmt(sample.encoderRssMb, 0)} | ${sample.encoderFds} | ${fmt(sample.speed, 2)} | ${fmt(sample.latency, 2)} | ${sample.stored} |`)
  }

  lines.push('', '### Commands', '', '```sh', report.commands.ingest, report.commands.push, '```', '')
  return lines.join('\n')
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/soak: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
