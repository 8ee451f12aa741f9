/**
 * VOD jobs: `livectl run` over several inputs (a bad one among them), resumed after Ctrl-C and
 * re-run to no effect; and the queue: jobs enqueued on the local Redis, run by two `livectl
 * worker` processes, one of them killed with SIGKILL mid-job and its job finished by the other.
 */
import {readdir, readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {Queue} from 'bullmq'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'

import {startApiServer} from '../../src/lib/api/serve.js'
import {withCatalog} from '../../src/lib/catalog/connection.js'
import {findVideoWithPackage, listVideos} from '../../src/lib/catalog/videos.js'
import {listJobs} from '../../src/lib/jobs/queue-client.js'
import {QUEUE_NAME, VOD_JOB_NAME} from '../../src/lib/jobs/queue-settings.js'
import {parseRedisUrl} from '../../src/lib/jobs/redis-url.js'
import {type CliRun, runCli, startCli} from '../support/cli.js'
import {makeClip, makeTempDir} from '../support/media.js'
import {claimRedisDb, runRedisSuites, type TestRedisDb} from '../support/redis.js'
import {waitFor} from '../support/wait.js'

let work: Awaited<ReturnType<typeof makeTempDir>>
let clips: {a: string; b: string; c: string; bad: string}

/** Every file under a folder, relative, sorted: what storage holds. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, {recursive: true, withFileTypes: true})
  return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name))).sort()
}

beforeAll(async () => {
  work = await makeTempDir('livectl-jobs-')
  const options = {width: 320, height: 180, durationSeconds: 4, audio: 'stereo' as const}
  clips = {
    a: await makeClip(work.dir, 'alpha.mp4', options),
    b: await makeClip(work.dir, 'beta.mp4', options),
    c: await makeClip(work.dir, 'gamma.mp4', {...options, durationSeconds: 8}),
    bad: path.join(work.dir, 'broken.mp4'),
  }
  await writeFile(clips.bad, 'this is not a video\n')
})

afterAll(async () => {
  await work?.cleanup()
})

const JOB_FLAGS = ['--ladder', '144p', '--preset', 'ultrafast', '--segment-duration', '1']

describe('livectl run', () => {
  it('publishes the good inputs, reports the bad one with its reason, exits non-zero, and a re-run publishes nothing new', async () => {
    const dataDir = path.join(work.dir, 'run-data')
    const media = path.join(dataDir, 'media')
    const first = await runCli(['run', clips.a, clips.bad, clips.b, '--data-dir', dataDir, ...JOB_FLAGS, '--json'])
    expect(first.exitCode, first.stderr).toBe(2)
    const summary = JSON.parse(first.stdout) as {ok: boolean; published: number; failed: number; entries: Array<{videoId: string; outcome: string; reason?: string}>}
    expect(summary.ok).toBe(false)
    expect(summary.entries.map((entry) => [entry.videoId, entry.outcome])).toEqual([['alpha', 'published'], ['broken', 'failed'], ['beta', 'published']])
    expect(summary.entries[1]?.reason).toMatch(/broken\.mp4/)
    await withCatalog({dataDir}, async (catalog) => {
      expect((await findVideoWithPackage(catalog, 'alpha'))?.status).toBe('ready')
      expect((await findVideoWithPackage(catalog, 'beta'))?.status).toBe('ready')
      const broken = await findVideoWithPackage(catalog, 'broken')
      expect(broken?.status).toBe('failed')
      expect(broken?.statusReason).toMatch(/broken\.mp4/)
    })
    const published = await tree(media)
    expect(published).toContain('alpha/master.m3u8')
    expect(published).toContain('beta/manifest.mpd')
    // Nothing of the intermediate work is left once published.
    expect(await tree(path.join(dataDir, 'jobs'))).toEqual(['alpha/state.json', 'beta/state.json', 'broken/state.json'])

    const again = await runCli(['run', clips.a, clips.b, '--data-dir', dataDir, ...JOB_FLAGS, '--json'])
    expect(again.exitCode, again.stderr).toBe(0)
    const second = JSON.parse(again.stdout) as {entries: Array<{outcome: string}>; published: number; skipped: number}
    expect(second.entries.map((entry) => entry.outcome)).toEqual(['skipped', 'skipped'])
    expect(await tree(media)).toEqual(published)
  })

  it('stops on Ctrl-C and a re-run finishes what was left', async () => {
    const dataDir = path.join(work.dir, 'interrupted')
    const child = startCli(['run', clips.a, clips.c, '--data-dir', dataDir, ...JOB_FLAGS])
    // Interrupt once the second input's job has started (the first is published by then).
    await waitFor(async () => (await readdir(path.join(dataDir, 'jobs')).catch((): string[] => [])).includes('gamma'), {what: 'the second job to start', timeoutMs: 60_000})
    child.child.kill('SIGINT')
    const stopped = await child.done
    expect(stopped.exitCode, stopped.stderr).toBe(130)
    expect(stopped.stderr).not.toMatch(/\n\s+at /)
    await withCatalog({dataDir}, async (catalog) => {
      expect((await findVideoWithPackage(catalog, 'alpha'))?.status).toBe('ready')
      expect((await findVideoWithPackage(catalog, 'gamma'))?.status).not.toBe('ready')
    })

    const resumed = await runCli(['run', clips.a, clips.c, '--data-dir', dataDir, ...JOB_FLAGS, '--json'])
    expect(resumed.exitCode, resumed.stderr).toBe(0)
    const summary = JSON.parse(resumed.stdout) as {entries: Array<{videoId: string; outcome: string}>}
    expect(summary.entries).toMatchObject([{videoId: 'alpha', outcome: 'skipped'}, {videoId: 'gamma', outcome: 'published'}])
    await withCatalog({dataDir}, async (catalog) => {
      const gamma = await findVideoWithPackage(catalog, 'gamma')
      expect(gamma?.status).toBe('ready')
      expect(gamma?.durationSeconds).toBeGreaterThan(7.5)
    })
  })

  it('refuses two inputs that would be the same video, before running anything', async () => {
    const dataDir = path.join(work.dir, 'same-id')
    const result = await runCli(['run', clips.a, path.join(work.dir, 'ALPHA.mov'), '--data-dir', dataDir, ...JOB_FLAGS])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/would both be video "alpha"/)
  })
})

describe.runIf(runRedisSuites)('the job queue on Redis', () => {
  // Each test has a database of its own on the local Redis, emptied first: its queue starts empty,
  // and nothing one test leaves behind (a job, a worker still stopping) reaches the next.
  let redis: TestRedisDb | undefined
  let queue: string

  beforeEach(async () => {
    redis = await claimRedisDb()
    queue = redis.url
  })

  afterEach(async () => {
    await redis?.release()
    redis = undefined
  })

  /** Waits for the queue to reach a state; on a timeout, says where the queue stood and what the workers printed. */
  async function waitForQueue(condition: () => Promise<boolean>, what: string, workers: CliRun[], timeoutMs = 60_000): Promise<void> {
    try {
      await waitFor(condition, {what, timeoutMs})
    } catch (error) {
      const {counts, jobs} = await listJobs({redisUrl: queue})
      const failed = jobs.filter((job) => job.failedReason).map((job) => `${job.id}: ${job.failedReason}`)
      for (const worker of workers) worker.child.kill('SIGTERM')
      const printed = (await Promise.all(workers.map((worker) => worker.done))).map((result) => result.stderr.slice(-2000))
      throw new Error(`${(error as Error).message}; queue ${JSON.stringify(counts)}; failed ${JSON.stringify(failed)}; workers printed:\n${printed.join('\n---\n')}`, {cause: error})
    }
  }

  it('two workers run three queued jobs; one killed mid-job (SIGKILL) loses nothing: the other finishes it', async () => {
    const shared = path.join(work.dir, 'shared')
    const media = path.join(shared, 'media')
    const db = `sqlite:${path.join(shared, 'catalog.db')}`
    // A lock of 5 s: the killed worker's job is free again within seconds, while a live worker on a
    // loaded machine (encodes of other test files beside it) still renews its own in time. At 2 s a
    // renewal delayed past the lock counted as a stall, and a job that stalls twice fails.
    const workerFlags = (name: string) => ['worker', '--queue', queue, '--db', db, '--data-dir', path.join(work.dir, name), '--lock-seconds', '5']
    const queued = await runCli(['run', clips.a, clips.b, clips.c, '--to', media, '--db', db, '--data-dir', path.join(work.dir, 'client'), '--queue', queue, ...JOB_FLAGS, '--json'])
    expect(queued.exitCode, queued.stderr).toBe(0)
    expect((JSON.parse(queued.stdout) as {jobs: Array<{videoId: string}>}).jobs.map((job) => job.videoId)).toEqual(['alpha', 'beta', 'gamma'])

    // The first worker starts alone and takes a job; it is killed in the middle of it.
    const doomed = startCli(workerFlags('worker-1'))
    await waitFor(async () => (await listJobs({redisUrl: queue, states: ['active']})).jobs.length > 0, {what: 'the first worker to take a job', timeoutMs: 60_000})
    const taken = (await listJobs({redisUrl: queue, states: ['active']})).jobs[0]?.id as string
    await waitFor(async () => (await readdir(path.join(work.dir, 'worker-1', 'jobs', taken)).catch((): string[] => [])).includes('state.json'), {what: 'the job to be under way', timeoutMs: 60_000})
    doomed.child.kill('SIGKILL')
    const killed = await doomed.done
    expect(killed.stderr).not.toMatch(new RegExp(`job ${taken}: published`))

    const survivor = startCli(workerFlags('worker-2'))
    const helper = startCli(workerFlags('worker-3'))
    try {
      await waitForQueue(async () => (await listJobs({redisUrl: queue, states: ['completed']})).jobs.length === 3, 'all three jobs to complete', [survivor, helper], 120_000)
      const list = await listJobs({redisUrl: queue})
      expect(list.counts).toMatchObject({completed: 3, failed: 0, active: 0, waiting: 0})
    } finally {
      survivor.child.kill('SIGTERM')
      helper.child.kill('SIGTERM')
    }

    const stopped = await survivor.done
    expect(stopped.exitCode, stopped.stderr).toBe(0)
    const helped = await helper.done
    // The killed worker's job was taken again once its lock expired, and finished by another worker.
    expect(`${stopped.stderr}${helped.stderr}`).toMatch(new RegExp(`job ${taken}: published`))

    // Storage and catalog exactly as after a clean run: one package per video, every file a clean run writes, each video ready once.
    const clean = path.join(work.dir, 'clean')
    const reference = await runCli(['run', clips.a, clips.b, clips.c, '--to', path.join(clean, 'media'), '--data-dir', clean, ...JOB_FLAGS])
    expect(reference.exitCode, reference.stderr).toBe(0)
    expect(await tree(media)).toEqual(await tree(path.join(clean, 'media')))
    await withCatalog({url: db, dataDir: shared}, async (catalog) => {
      const {videos} = await listVideos(catalog)
      expect(videos.map((video) => [video.id, video.status]).sort()).toEqual([['alpha', 'ready'], ['beta', 'ready'], ['gamma', 'ready']])
    })
    const playlist = await readFile(path.join(media, taken, 'media_0.m3u8'), 'utf8')
    expect(playlist).toContain('#EXT-X-ENDLIST')

    // A `serve` with the queue shows its depth and the jobs' durations to Prometheus.
    const server = await startApiServer({dataDir: shared, db, host: '127.0.0.1', port: 0, queueUrl: queue, logLevel: 'silent'})
    try {
      const metrics = await (await fetch(`${server.url}/metrics`)).text()
      expect(metrics).toMatch(/livectl_queue_jobs\{state="completed"\} 3/)
      expect(metrics).toMatch(/livectl_queue_jobs\{state="waiting"\} 0/)
      expect(metrics).toMatch(/livectl_queue_job_duration_seconds\{quantile="0.5"\} \d/)
    } finally {
      await server.close()
    }
  }, 240_000)

  it('fails a corrupt input once, with its reason, and `jobs retry` runs it again', async () => {
    const shared = path.join(work.dir, 'shared-bad')
    const db = `sqlite:${path.join(shared, 'catalog.db')}`
    const queued = await runCli(['run', clips.bad, '--to', path.join(shared, 'media'), '--db', db, '--queue', queue, ...JOB_FLAGS])
    expect(queued.exitCode, queued.stderr).toBe(0)
    const worker = startCli(['worker', '--queue', queue, '--db', db, '--data-dir', path.join(work.dir, 'worker-bad')])
    try {
      await waitForQueue(async () => (await listJobs({redisUrl: queue, states: ['failed']})).jobs.length === 1, 'the job to fail', [worker])
      const shown = await runCli(['jobs', 'show', 'broken', '--queue', queue, '--json'])
      const job = JSON.parse(shown.stdout) as {state: string; attemptsMade: number; failedReason: string; finishedAt: string}
      expect(job.state).toBe('failed')
      // A user error is not retried.
      expect(job.attemptsMade).toBe(1)
      expect(job.failedReason).toMatch(/broken\.mp4/)
      await withCatalog({url: db, dataDir: shared}, async (catalog) => {
        expect((await findVideoWithPackage(catalog, 'broken'))?.status).toBe('failed')
      })

      const retried = await runCli(['jobs', 'retry', 'broken', '--queue', queue, '--json'])
      expect(retried.exitCode, retried.stderr).toBe(0)
      await waitFor(async () => {
        const {jobs} = await listJobs({redisUrl: queue, states: ['failed']})
        return jobs.length === 1 && jobs[0]?.attemptsMade === 1 && jobs[0].finishedAt !== job.finishedAt
      }, {what: 'the retried job to fail again', timeoutMs: 60_000})
    } finally {
      worker.child.kill('SIGTERM')
      await worker.done
    }
  })

  it('fails a job whose data is not a job spec, once, saying why, and the worker goes on with the next', async () => {
    const shared = path.join(work.dir, 'shared-foreign')
    const db = `sqlite:${path.join(shared, 'catalog.db')}`
    // Given a job put on the queue by something other than livectl (or a livectl that spells jobs differently)
    const foreign = new Queue(QUEUE_NAME, {connection: parseRedisUrl(queue)})
    try {
      await foreign.add(VOD_JOB_NAME, {videoId: 'foreign', input: 42, to: shared}, {jobId: 'foreign', attempts: 3})
    } finally {
      await foreign.close()
    }

    const worker = startCli(['worker', '--queue', queue, '--db', db, '--data-dir', path.join(work.dir, 'worker-foreign')])
    try {
      // When a worker takes it, then a good job
      await waitForQueue(async () => (await listJobs({redisUrl: queue, states: ['failed']})).jobs.length === 1, 'the foreign job to fail', [worker])
      const {jobs: [failed]} = await listJobs({redisUrl: queue, states: ['failed']})
      // Then it failed once (no retry can mend it), naming the job and the field
      expect(failed).toMatchObject({id: 'foreign', videoId: 'foreign', input: '', attemptsMade: 1})
      expect(failed?.failedReason).toBe('Job foreign is not a livectl VOD job: input must be string')

      const queued = await runCli(['run', clips.a, '--to', path.join(shared, 'media'), '--db', db, '--queue', queue, ...JOB_FLAGS])
      expect(queued.exitCode, queued.stderr).toBe(0)
      // And the same worker runs the next job
      await waitForQueue(async () => (await listJobs({redisUrl: queue, states: ['completed']})).jobs.length === 1, 'the good job to complete', [worker])
    } finally {
      worker.child.kill('SIGTERM')
    }

    const stopped = await worker.done
    expect(stopped.exitCode, stopped.stderr).toBe(0)
  })

  it('names Redis when it cannot be reached (exit 3)', async () => {
    const result = await runCli(['jobs', 'list', '--queue', 'redis://127.0.0.1:1'])
    expect(result.exitCode).toBe(3)
    expect(result.stderr).toMatch(/job queue at redis:\/\/127\.0\.0\.1:1 cannot be reached/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
  })

  it('a worker waiting for its Redis to come up stops when asked (SIGTERM)', async () => {
    const worker = startCli(['worker', '--queue', 'redis://127.0.0.1:1', '--data-dir', path.join(work.dir, 'worker-no-redis')])
    // Long enough to start and to be retrying; the worker keeps trying (its Redis may come up later).
    await new Promise((resolve) => setTimeout(resolve, 4000))
    worker.child.kill('SIGTERM')
    const stopped = await worker.done
    expect(stopped.exitCode, stopped.stderr).toBe(0)
    expect(stopped.stderr).toMatch(/ECONNREFUSED/)
  })
})
