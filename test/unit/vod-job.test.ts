/**
 * The VOD job's stages, without ffmpeg, storage or a database: fake stages that write the files a
 * real one leaves (renditions.json, the package manifest), a catalog in memory and a fake clock.
 * The order of the stages, resuming, skipping, the status writes and the failure reasons.
 */
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import type {JobStatusInput, UpsertVideoInput} from '../../src/lib/catalog/videos.js'
import {CancelledError, ExternalError, UserError} from '../../src/lib/errors.js'
import {buildVodJobSpec} from '../../src/lib/jobs/job-spec.js'
import {planVodJobStages, runVodJobStages, type StageWork, type VodJobDeps, type VodJobProgress} from '../../src/lib/jobs/vod-job-runner.js'
import {RENDITIONS_FILE} from '../../src/lib/media/renditions.js'
import {PACKAGE_MANIFEST_FILE, type PackageManifest} from '../../src/lib/package/manifest.js'
import {makeTempDir} from '../support/media.js'

const MANIFEST: PackageManifest = {
  version: 1, createdAt: '2026-01-01T00:00:00.000Z', durationSeconds: 4, segmentDurationSeconds: 1, formats: ['hls', 'dash'], renditions: [{name: '144p'} as PackageManifest['renditions'][number]], totalFiles: 3, totalBytes: 1000,
}

type Write = JobStatusInput | (UpsertVideoInput & {status: 'ready'})

let work: Awaited<ReturnType<typeof makeTempDir>>
let dataDir: string

beforeEach(async () => {
  work = await makeTempDir('livectl-vod-job-')
  dataDir = path.join(work.dir, 'data')
})

afterEach(async () => {
  await work?.cleanup()
})

/** A job's collaborators as fakes: each stage can be told to fail, and every call and write is recorded. */
function harness(options: {input?: string} = {}) {
  const spec = buildVodJobSpec({input: options.input ?? '/recordings/talk.mp4', videoId: 'talk', to: '/media', ladder: '144p', preset: 'ultrafast'})
  const calls: string[] = []
  const writes: Write[] = []
  const rows = new Map<string, {status: Write['status']; packageLocation: string}>()
  const failures: Partial<Record<keyof VodJobDeps['stages'] | 'progressWrite' | 'readyWrite', Error>> = {}
  const progress: VodJobProgress[] = []
  let clockMs = 0
  let input: unknown = {size: 1000, mtimeMs: 1}
  const onPublish: Array<(work: StageWork) => Promise<void>> = []

  const stage = (name: keyof VodJobDeps['stages'], effect?: (work: StageWork) => Promise<void>) => async (work: StageWork) => {
    calls.push(name)
    if (failures[name]) throw failures[name]
    await effect?.(work)
  }

  const deps: VodJobDeps = {
    target: {uri: 'file:///media'},
    describeInput: async () => input,
    now: () => clockMs,
    catalog: {
      findVideo: async (id) => rows.get(id),
      writeStatus: async (status) => {
        if (status.status === 'processing' && status.progress !== 0 && failures.progressWrite) throw failures.progressWrite
        writes.push(status)
        rows.set(status.id, {status: status.status, packageLocation: rows.get(status.id)?.packageLocation ?? status.packageLocation})
      },
      writeReady: async (video) => {
        if (failures.readyWrite) throw failures.readyWrite
        writes.push(video)
        rows.set(video.id, {status: 'ready', packageLocation: video.packageLocation})
      },
    },
    stages: {
      fetch: stage('fetch', async ({files}) => writeFile(files.inputFile, 'fetched')),
      transcode: stage('transcode', async ({files, progress: report}) => {
        report(0.5, 2)
        clockMs += 2000
        report(1, 2)
        await mkdir(files.renditionsDir, {recursive: true})
        await writeFile(path.join(files.renditionsDir, RENDITIONS_FILE), '{}')
      }),
      segment: stage('segment', async ({files}) => {
        await mkdir(files.packageDir, {recursive: true})
        await writeFile(path.join(files.packageDir, PACKAGE_MANIFEST_FILE), JSON.stringify(MANIFEST))
      }),
      publish: async (stageWork) => {
        await stage('publish', async (current) => {
          for (const hook of onPublish) await hook(current)
        })(stageWork)
        return {location: 'file:///media/talk', manifest: MANIFEST, changedManifests: ['talk/master.m3u8']}
      },
      invalidate: async (changed) => {
        calls.push(`invalidate ${changed.join(',')}`)
      },
    },
  }

  return {
    spec,
    deps,
    calls,
    writes,
    failures,
    progress,
    onPublish,
    setInput(next: unknown) {
      input = next
    },
    advance(ms: number) {
      clockMs += ms
    },
    run: (settings: {signal?: AbortSignal; cleanUp?: boolean} = {}) => runVodJobStages(spec, {dataDir, onProgress: (update) => progress.push(update), ...settings}, deps),
    plan: () => planVodJobStages(spec, dataDir, deps),
    statuses: () => writes.map((write) => write.status),
  }
}

describe('a VOD job', () => {
  it('transcodes, segments and publishes a local input in that order, then says ready and invalidates', async () => {
    const job = harness()
    const result = await job.run()
    expect(job.calls).toEqual(['transcode', 'segment', 'publish', 'invalidate talk/master.m3u8'])
    expect(result).toMatchObject({videoId: 'talk', outcome: 'published', location: 'file:///media/talk', durationSeconds: 4, renditions: ['144p'], ran: ['transcode', 'segment', 'publish']})
    expect(job.writes[0]).toEqual({id: 'talk', title: 'talk', status: 'processing', packageLocation: 'file:///media/talk', progress: 0})
    expect(job.writes.at(-1)).toMatchObject({id: 'talk', status: 'ready', packageLocation: 'file:///media/talk', manifest: MANIFEST})
    expect(job.progress.at(-1)).toEqual({stage: 'publish', fraction: 1, stageFraction: 1})
  })

  it('fetches a stored input first', async () => {
    const job = harness({input: 's3://uploads/talk.mp4'})
    const result = await job.run()
    expect(job.calls.slice(0, 4)).toEqual(['fetch', 'transcode', 'segment', 'publish'])
    expect(result.ran).toEqual(['fetch', 'transcode', 'segment', 'publish'])
  })

  it('keeps only state.json once published, unless asked to keep the work files', async () => {
    const job = harness()
    await job.run()
    const dir = path.join(dataDir, 'jobs', 'talk')
    expect(JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8'))).toMatchObject({version: 1, done: {transcode: true, segment: true, publish: true}, result: {outcome: 'published'}})
    await expect(readFile(path.join(dir, 'package', PACKAGE_MANIFEST_FILE))).rejects.toThrow()

    const kept = harness()
    kept.setInput({size: 2000})
    await kept.run({cleanUp: false})
    expect(JSON.parse(await readFile(path.join(dir, 'package', PACKAGE_MANIFEST_FILE), 'utf8'))).toEqual(MANIFEST)
  })

  it('does nothing when run again with the same input and settings, and its package is still the video\'s', async () => {
    const job = harness()
    await job.run()
    const calls = job.calls.length
    const writes = job.writes.length
    const again = await job.run()
    expect(again).toMatchObject({outcome: 'skipped', ran: [], location: 'file:///media/talk'})
    expect(job.calls.length).toBe(calls)
    expect(job.writes.length).toBe(writes)
    expect(await job.plan()).toEqual({videoId: 'talk', input: '/recordings/talk.mp4', location: 'file:///media/talk', action: 'skip', stages: []})
  })

  it('starts over when the input changed', async () => {
    const job = harness()
    await job.run()
    job.setInput({size: 5000, mtimeMs: 2})
    expect(await job.plan()).toMatchObject({action: 'run', stages: ['transcode', 'segment', 'publish']})
    expect((await job.run()).ran).toEqual(['transcode', 'segment', 'publish'])
  })

  it('writes failed with the stage\'s reason and throws its error; a re-run continues from that stage', async () => {
    const job = harness()
    const error = new ExternalError('ffmpeg exited with code 1: no space left')
    job.failures.segment = error
    await expect(job.run()).rejects.toBe(error)
    expect(job.writes.at(-1)).toEqual({id: 'talk', title: 'talk', status: 'failed', packageLocation: 'file:///media/talk', statusReason: 'ffmpeg exited with code 1: no space left'})
    expect(job.calls).toEqual(['transcode', 'segment'])

    delete job.failures.segment
    expect(await job.plan()).toMatchObject({action: 'resume', stages: ['segment', 'publish']})
    expect((await job.run()).ran).toEqual(['segment', 'publish'])
    expect(job.calls).toEqual(['transcode', 'segment', 'segment', 'publish', 'invalidate talk/master.m3u8'])
  })

  it('says an interrupted job can be run again to continue', async () => {
    const job = harness()
    const stop = new AbortController()
    stop.abort()
    job.failures.transcode = new CancelledError('Received SIGINT')
    await expect(job.run({signal: stop.signal})).rejects.toBeInstanceOf(CancelledError)
    expect(job.writes.at(-1)).toMatchObject({status: 'failed', statusReason: 'Interrupted before it finished: run it again to continue (Received SIGINT)'})
  })

  it('does not resume a stage whose output is gone: a transcode recorded done is redone without its renditions', async () => {
    const job = harness()
    job.failures.segment = new UserError('bad package')
    await expect(job.run()).rejects.toThrow('bad package')
    delete job.failures.segment
    await rm(path.join(dataDir, 'jobs', 'talk', 'renditions'), {recursive: true, force: true})
    expect(await job.plan()).toMatchObject({action: 'run', stages: ['transcode', 'segment', 'publish']})
  })

  it('writes progress at most once a second, and never after ready', async () => {
    const job = harness()
    // Publish progress reported at its very end, when the clock says a write is due: it must land before ready.
    job.onPublish.push(async (current) => {
      await new Promise((resolve) => setImmediate(resolve))
      job.advance(5000)
      current.progress(1)
    })
    await job.run()
    const statuses = job.statuses()
    expect(statuses.at(-1)).toBe('ready')
    expect(statuses.filter((status) => status === 'processing').length).toBeGreaterThan(1)
    // The first write at 0 s; transcode's 0.5 once the clock passed a second, not its 1 right after; publish's end.
    const progressWrites = job.writes.filter((write): write is JobStatusInput => write.status === 'processing').map((write) => write.progress)
    expect(progressWrites).toEqual([0, 0.425, 1])
  })

  it('writes nothing after failed, though work still reports (the other chunks of a failed chunked transcode)', async () => {
    const job = harness()
    let late: ((fraction: number) => void) | undefined
    job.deps.stages.transcode = async ({progress}) => {
      late = progress
      throw new ExternalError('a chunk failed')
    }
    await expect(job.run()).rejects.toThrow('a chunk failed')
    const before = {writes: job.writes.length, progress: job.progress.length}
    job.advance(5000)
    late?.(0.9)
    await new Promise((resolve) => setImmediate(resolve))
    expect(job.writes.length).toBe(before.writes)
    expect(job.statuses().at(-1)).toBe('failed')
    expect(job.progress.length).toBe(before.progress)
  })

  it('is not failed by a progress write that fails, but is by the first one', async () => {
    const job = harness()
    job.failures.progressWrite = new ExternalError('catalog away for a moment')
    expect((await job.run()).outcome).toBe('published')

    const down = harness()
    down.deps.catalog.writeStatus = async () => {
      throw new ExternalError('The catalog database is unavailable')
    }
    await expect(down.run()).rejects.toThrow('The catalog database is unavailable')
    expect(down.calls).toEqual([])
  })

  it('ends failed when the catalog refuses the ready write, with nothing of the stages lost', async () => {
    const job = harness()
    job.failures.readyWrite = new ExternalError('Catalog query failed')
    await expect(job.run()).rejects.toThrow('Catalog query failed')
    expect(job.statuses().at(-1)).toBe('failed')
    delete job.failures.readyWrite
    expect((await job.run()).ran).toEqual(['publish'])
  })
})
