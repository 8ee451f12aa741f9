/**
 * Chunked encoding: a 3-chunk encode gives renditions indistinguishable from the one-process
 * encode's: the same frame count and frame times (no frame repeated or lost at a join), the same
 * keyframe times and duration, the same quality against the source, and `segment` packages them.
 */
import {execFile} from 'node:child_process'
import {readdir, readFile, stat} from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'

import {CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client} from '@aws-sdk/client-s3'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {listJobs} from '../../src/lib/jobs/queue-client.js'
import {runCli, startCli} from '../support/cli.js'
import {framePresentationTimes, keyframeTimes, makeClip, makeTempDir, probeStreams, ssimDb} from '../support/media.js'
import {runMotoSuites, startMoto, useFakeAwsCredentials} from '../support/moto.js'
import {claimRedisDb, runRedisSuites} from '../support/redis.js'
import {waitFor} from '../support/wait.js'

let work: Awaited<ReturnType<typeof makeTempDir>>
let source: string

beforeAll(async () => {
  work = await makeTempDir('livectl-chunked-')
  // Camera-like h264 (B-frames, CABAC), moving picture: a repeated or missing frame shows in SSIM.
  source = await makeClip(work.dir, 'source.mp4', {width: 640, height: 360, durationSeconds: 9, audio: 'stereo', encoding: 'camera'})
})

afterAll(async () => {
  await work?.cleanup()
})

describe('transcode --chunk-seconds', () => {
  it('joins 3 chunks into renditions with the one-process encode\'s frames, keyframes, duration and quality', async () => {
    const flags = ['--ladder', '360p,144p', '--segment-duration', '1', '--preset', 'ultrafast', '--data-dir', path.join(work.dir, 'data')]
    const whole = await runCli(['transcode', source, '-o', path.join(work.dir, 'whole'), ...flags])
    expect(whole.exitCode, whole.stderr).toBe(0)
    const chunked = await runCli(['transcode', source, '-o', path.join(work.dir, 'chunked'), '--chunk-seconds', '3', ...flags])
    expect(chunked.exitCode, chunked.stderr).toBe(0)

    for (const rung of ['360p', '144p']) {
      const a = path.join(work.dir, 'whole', `${rung}.mp4`)
      const b = path.join(work.dir, 'chunked', `${rung}.mp4`)
      const [timesA, timesB] = [await framePresentationTimes(a), await framePresentationTimes(b)]
      expect(timesB.length).toBe(timesA.length)
      expect(timesB.length).toBe(270)
      expect(timesB.map((time) => Math.round(time * 30))).toEqual(timesA.map((time) => Math.round(time * 30)))
      expect(await keyframeTimes(b)).toEqual(await keyframeTimes(a))
      const [probeA, probeB] = [await probeStreams(a), await probeStreams(b)]
      expect(Number(probeB.format.duration)).toBeCloseTo(Number(probeA.format.duration), 1)
      expect(probeB.streams.map((stream) => stream.codec_type)).toEqual(['video', 'audio'])
      const height = rung === '360p' ? 360 : 144
      const width = rung === '360p' ? 640 : 256
      const [qualityA, qualityB] = [await ssimDb(a, source, width, height), await ssimDb(b, source, width, height)]
      // A repeated or lost frame at a join would misalign every later frame of its chunk and sink SSIM;
      // rate control restarted at each chunk would move both quality and size (the pre-roll prevents it).
      expect(Math.abs(qualityB - qualityA), `SSIM ${qualityB} dB chunked against ${qualityA} dB in one process`).toBeLessThan(0.1)
      const [bytesA, bytesB] = [(await stat(a)).size, (await stat(b)).size]
      expect(Math.abs(bytesB / bytesA - 1), `${bytesB} bytes chunked against ${bytesA}`).toBeLessThan(0.02)
    }

    const manifest = JSON.parse(await readFile(path.join(work.dir, 'chunked', 'renditions.json'), 'utf8')) as {renditions: Array<{name: string}>}
    expect(manifest.renditions.map((rendition) => rendition.name)).toEqual(['360p', '144p'])
    const packaged = await runCli(['segment', path.join(work.dir, 'chunked'), '-o', path.join(work.dir, 'package'), '--data-dir', path.join(work.dir, 'data')])
    expect(packaged.exitCode, packaged.stderr).toBe(0)
  })

  // Compared with the one-process encode of the test above (tests in a file run in order).
  it.runIf(runRedisSuites)('spreads the chunks over queue workers (--queue) with the same result', async () => {
    const redis = await claimRedisDb()
    const {db, url: queue} = redis
    const workers = [1, 2].map((n) => startCli(['worker', '--queue', queue, '--data-dir', path.join(work.dir, `w${n}`)]))
    try {
      const flags = ['--ladder', '360p,144p', '--segment-duration', '1', '--preset', 'ultrafast', '--data-dir', path.join(work.dir, 'data')]
      const spread = await runCli(['transcode', source, '-o', path.join(work.dir, 'spread'), '--chunk-seconds', '3', '--queue', queue, ...flags])
      expect(spread.exitCode, spread.stderr).toBe(0)
      const whole = path.join(work.dir, 'whole', '360p.mp4')
      const joined = path.join(work.dir, 'spread', '360p.mp4')
      expect((await framePresentationTimes(joined)).map((time) => Math.round(time * 30))).toEqual((await framePresentationTimes(whole)).map((time) => Math.round(time * 30)))
      expect(await keyframeTimes(joined)).toEqual(await keyframeTimes(whole))
      const chunks = Number((await promisify(execFile)('redis-cli', ['-n', String(db), 'zcard', 'bull:livectl-chunks:completed'])).stdout.trim())
      expect(chunks).toBe(3)
    } finally {
      for (const worker of workers) worker.child.kill('SIGTERM')
      await Promise.all(workers.map((worker) => worker.done))
      await redis.release()
    }
  })

  it('refuses a chunk length that is not whole segments, as a user error', async () => {
    const result = await runCli(['transcode', source, '-o', path.join(work.dir, 'bad'), '--chunk-seconds', '2.5', '--segment-duration', '1', '--data-dir', path.join(work.dir, 'data')])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/whole number of segments/)
  })
})

describe.runIf(runMotoSuites && runRedisSuites)('chunks between machines, through S3 (moto)', () => {
  it('a queued chunked job from S3: workers with disks of their own read the input from S3 and return chunks through it, leaving nothing behind', async () => {
    useFakeAwsCredentials()
    const moto = await startMoto()
    const redis = await claimRedisDb()
    const {db, url: queue} = redis
    const s3 = new S3Client({endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1'})
    const catalog = `sqlite:${path.join(work.dir, 'shared-catalog.db')}`
    const s3Flags = ['--s3-endpoint', moto.endpoint]
    const dataDirs = [1, 2].map((n) => path.join(work.dir, `remote-${n}`))
    const workers = dataDirs.map((dir) => startCli(['worker', '--queue', queue, '--db', catalog, '--data-dir', dir, ...s3Flags]))
    try {
      await s3.send(new CreateBucketCommand({Bucket: 'chunks'}))
      await s3.send(new PutObjectCommand({Bucket: 'chunks', Key: 'in/talk.mp4', Body: await readFile(source)}))
      const flags = ['--ladder', '360p,144p', '--segment-duration', '1', '--preset', 'ultrafast', '--chunk-seconds', '3']
      const queued = await runCli(['run', 's3://chunks/in/talk.mp4', '--to', 's3://chunks/media', '--queue', queue, '--db', catalog, '--data-dir', path.join(work.dir, 'client'), ...s3Flags, ...flags])
      expect(queued.exitCode, queued.stderr).toBe(0)
      await waitFor(async () => {
        const {counts} = await listJobs({redisUrl: queue})
        if (counts.failed) throw new Error('the job failed')
        return counts.completed === 1
      }, {what: 'the chunked job to complete', timeoutMs: 120_000})

      const chunkJobs = Number((await promisify(execFile)('redis-cli', ['-n', String(db), 'zcard', 'bull:livectl-chunks:completed'])).stdout.trim())
      expect(chunkJobs).toBe(3)
      // Chunk workers fetched the input from S3 into their own data folder (not the splitting worker's path).
      const cached = (await Promise.all(dataDirs.map(async (dir) => readdir(path.join(dir, 'chunk-inputs')).catch((): string[] => [])))).flat()
      expect(cached.length).toBeGreaterThan(0)
      for (const dir of dataDirs) expect(await readdir(path.join(dir, 'chunk-outputs')).catch((): string[] => [])).toEqual([])
      const keys = ((await s3.send(new ListObjectsV2Command({Bucket: 'chunks', Prefix: 'media/'}))).Contents ?? []).map((object) => object.Key as string)
      // The exchanged chunks are gone; the package is there, every second of the 9-s source in it.
      expect(keys.filter((key) => key.includes('livectl-chunks-tmp'))).toEqual([])
      expect(keys).toContain('media/talk/master.m3u8')
      const playlist = await (await s3.send(new GetObjectCommand({Bucket: 'chunks', Key: 'media/talk/media_0.m3u8'}))).Body?.transformToString()
      expect(playlist?.match(/#EXTINF/g)).toHaveLength(9)
      expect(playlist).toContain('#EXT-X-ENDLIST')
    } finally {
      for (const worker of workers) worker.child.kill('SIGTERM')
      await Promise.all(workers.map((worker) => worker.done))
      await moto.stop()
      await redis.release()
    }
  })
})
