/**
 * Soak: one long live push (1080p30 barcode clip looped, livectl's default live ladder) to
 * `livectl ingest` publishing to a local S3 server (moto), sampled every 10 s: memory (RSS) and
 * open file descriptors of the ingest process and of its encoder, the encoder's speed, the
 * glass-to-publish latency of the newest segment (read from the frame number burnt into its
 * first frame), and the segments in storage. At the end: every segment in storage once, in order,
 * none missing.
 *
 *   npm run bench:soak                       builds, then 30 minutes
 *   npx tsx bench/soak/main.ts --minutes 30 [--keep]
 *
 * Writes the `## Soak` section of BENCHMARKS.md.
 */
import {Buffer} from 'node:buffer'
import {readdirSync, readFileSync} from 'node:fs'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'
import process from 'node:process'
import {setTimeout as sleep} from 'node:timers/promises'
import {parseArgs} from 'node:util'

import {CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client} from '@aws-sdk/client-s3'

import {mediaTools} from '../../src/lib/media/tools.js'
import {createKey, ensureClip, FRAME_RATE, now, pushStartOf, readFrameNumber, startFfmpeg} from '../support/live-push.js'
import {freePort, httpRequest} from '../support/net.js'
import {BENCHMARKS_FILE, REPO_ROOT} from '../support/paths.js'
import {processTree, readMemoryKib} from '../support/proc.js'
import {formatCommand, loadAverage, machineFacts, writeSection} from '../support/report.js'
import {benchEnvironment, startServerProcess} from '../support/spawn.js'
import {CLIP_SECONDS, render, SAMPLE_SECONDS, type Sample, SEGMENT_SECONDS, type SoakOptions, type SoakReport} from './report.js'

const WORK_DIR = path.join('.bench-work', 'soak')
const BUCKET = 'soak'

function parseOptions(): SoakOptions | {renderOnly: true} {
  const {values} = parseArgs({options: {minutes: {type: 'string', default: '30'}, keep: {type: 'boolean', default: false}, 'render-only': {type: 'boolean', default: false}, help: {type: 'boolean', short: 'h', default: false}}})
  if (values.help) {
    process.stdout.write('Usage: npx tsx bench/soak/main.ts [--minutes 30] [--keep]\n       npx tsx bench/soak/main.ts --render-only    rewrites the section from .bench-work/soak/report.json\n')
    process.exit(0)
  }

  if (values['render-only']) return {renderOnly: true}

  const minutes = Number(values.minutes)
  if (!(minutes >= 1 && minutes <= 600)) throw new Error(`--minutes must be from 1 to 600 (got ${values.minutes})`)
  return {minutes, keep: values.keep}
}

const rssMb = (pid: number) => (readMemoryKib(pid)?.rssKib ?? 0) / 1024

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return 0
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? ''
  } catch {
    return ''
  }
}

async function main(): Promise<void> {
  const options = parseOptions()
  if ('renderOnly' in options) {
    const report = JSON.parse(readFileSync(path.join(REPO_ROOT, WORK_DIR, 'report.json'), 'utf8')) as SoakReport & {startedAt: string}
    const section = render({...report, startedAt: new Date(report.startedAt)})
    process.stdout.write(`${section}\n`)
    await writeSection(BENCHMARKS_FILE, section)
    return
  }

  const {ffmpeg} = await mediaTools()
  const env = {...benchEnvironment(), AWS_ACCESS_KEY_ID: 'soak', AWS_SECRET_ACCESS_KEY: 'soak', AWS_REGION: 'us-east-1'}
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
  const pusher = startFfmpeg(ffmpeg, pushArgs, {cwd: REPO_ROOT, env})

  // The video, once ingest has it in storage.
  let videoId: string | undefined
  while (!videoId) {
    const listed = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: 'live/', Delimiter: '/'}))
    videoId = listed.CommonPrefixes?.[0]?.Prefix?.split('/')[1]
    if (!videoId) await sleep(200)
  }

  const prefix = `live/${videoId}/`
  const text = async (objectKey: string) => (await s3.send(new GetObjectCommand({Bucket: BUCKET, Key: objectKey}))).Body?.transformToString()
  const bytes = async (objectKey: string) => Buffer.from((await (await s3.send(new GetObjectCommand({Bucket: BUCKET, Key: objectKey}))).Body?.transformToByteArray()) ?? [])
  const countStored = async () => {
    let count = 0
    let token: string | undefined
    do {
      const page = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: prefix, ContinuationToken: token}))
      count += (page.Contents ?? []).filter((object) => object.Key?.endsWith('.m4s') && !object.Key.includes('init-')).length
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return count
  }

  // First sight of each segment of the top rung, from its live playlist read every 500 ms.
  const firstSeen = new Map<string, number>()
  let watching = true
  const watcher = (async () => {
    while (watching) {
      const playlist = await text(`${prefix}media_0.m3u8`).catch(() => undefined)
      const at = now()
      for (const line of (playlist ?? '').split('\n')) if (line.startsWith('seg-0-') && !firstSeen.has(line)) firstSeen.set(line, at)
      await sleep(500)
    }
  })()

  const samples: Sample[] = []
  const ingestPid = ingest.child.pid ?? 0
  const sampleOnce = async () => {
    const tree = processTree([ingestPid])
    const encoder = tree.find((pid) => pid !== ingestPid && /ffmpeg/.test(commandOf(pid)))
    const metrics = await httpRequest(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => ({body: ''}))
    const speed = Number(/^livectl_live_encoder_speed\{[^}]*\}\s+(\S+)$/m.exec(metrics.body)?.[1] ?? Number.NaN)
    // Glass to publish of the newest segment: when it was first listed minus when its first frame was pushed.
    const newest = [...firstSeen.entries()].at(-1)
    let latency: number | undefined
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
        latency = newest[1] - (pushStartOf(pusher) + absolute / FRAME_RATE)
      }
    }

    samples.push({
      elapsed: now() - startWall,
      ingestRssMb: rssMb(ingestPid),
      encoderRssMb: encoder ? rssMb(encoder) : 0,
      ingestFds: openFds(ingestPid),
      encoderFds: encoder ? openFds(encoder) : 0,
      speed,
      latency,
      stored: await countStored(),
    })
    const last = samples.at(-1)
    if (last) process.stdout.write(`${(last.elapsed / 60).toFixed(1)} min: ingest ${last.ingestRssMb.toFixed(0)} MB / ${last.ingestFds} fds, encoder ${last.encoderRssMb.toFixed(0)} MB / ${last.encoderFds} fds, speed ${Number.isNaN(last.speed) ? '-' : last.speed.toFixed(2)}, glass-to-publish ${last.latency === undefined ? '-' : last.latency.toFixed(2)} s, ${last.stored} segments stored\n`)
  }

  const startWall = now()
  while (pusher.child.exitCode === null) {
    await sleep(SAMPLE_SECONDS * 1000)
    if (pusher.child.exitCode === null) await sampleOnce()
  }

  const pushExit = await pusher.exited
  // The stream ends (reconnect grace 0): wait for the playlist's end tag.
  const deadline = now() + 120
  let final: string | undefined
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
  let token: string | undefined
  const storedNames = new Set<string>()
  do {
    const page = await s3.send(new ListObjectsV2Command({Bucket: BUCKET, Prefix: `${prefix}seg-0-`, ContinuationToken: token}))
    for (const object of page.Contents ?? []) storedNames.add((object.Key ?? '').slice(prefix.length))
    storedTop += page.Contents?.length ?? 0
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
  const missingInStorage = finalSegments.filter((name) => !storedNames.has(name)).length
  const ingestExit = await ingest.stop()
  await moto.stop()
  if (!options.keep) await rm(path.join(REPO_ROOT, WORK_DIR, 'data'), {recursive: true, force: true})

  const report: SoakReport = {
    options, startedAt, loadAtStart, loadAtEnd: loadAverage(), machine: machineFacts(), samples,
    pushExit: {code: pushExit.code}, ended: Boolean(final?.includes('#EXT-X-ENDLIST')),
    segments: {listed: finalSegments.length, storedTop, missingInPlaylist, missingInStorage, duplicates},
    ingestStoppedCleanly: !ingestExit?.killed,
    commands: {ingest: formatCommand('node', ingestArgs.map((arg) => arg.replace(moto.url, 'http://127.0.0.1:MOTO').replace(String(rtmpPort), 'PORT').replace(String(metricsPort), 'MPORT'))), push: formatCommand('ffmpeg', pushArgs.map((arg) => arg.replace(ingest.url, 'rtmp://127.0.0.1:PORT/live')))},
  }
  await writeFile(path.join(REPO_ROOT, WORK_DIR, 'report.json'), `${JSON.stringify(report, null, 2)}\n`)
  const section = render(report)
  process.stdout.write(`\n${section}\n`)
  await writeSection(BENCHMARKS_FILE, section)
  process.stdout.write('Wrote the "## Soak" section of BENCHMARKS.md\n')
}

try {
  await main()
} catch (error) {
  process.stderr.write(`bench/soak: ${error instanceof Error ? error.stack : String(error)}\n`)
  process.exitCode = 1
}
