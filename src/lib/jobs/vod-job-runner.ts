/**
 * The VOD job as a list of stages: inspect (what the job is made from, what a previous run left)
 * -> fetch (stored inputs) -> transcode -> segment -> publish (to storage) -> catalog (ready), with
 * the job's catalog status written all along: processing with progress, ready, or failed with the
 * reason. The work of each stage and the catalog come in through `VodJobDeps`, so the order, the
 * resume and the failure handling are unit-tested with fakes; vod-job.ts hands in the real ones.
 */

import {CancelledError, toErrorReport} from '../errors.js'
import {ensureDir, removeQuietly, writeJsonAtomic} from '../files.js'
import {assertValidId} from '../catalog/ids.js'
import type {JobStatusInput, UpsertVideoInput, Video} from '../catalog/videos.js'
import type {PackageManifest} from '../package/manifest.js'
import {packageLocation, type Storage} from '../storage/storage.js'
import type {VodJobSpec} from './job-spec.js'
import {allStages, fingerprintOf, type JobFiles, jobDir, jobFiles, type JobState, pendingStages, readState, stateFileOf, type VodJobResult, type VodStage} from './vod-job-state.js'

export interface VodJobProgress {
  stage: VodStage
  /** The whole job, 0..1. */
  fraction: number
  /** The current stage, 0..1 when known. */
  stageFraction?: number
  /** Times realtime (transcode). */
  speed?: number
}

/** What a stage is given: the job's work files, the signal, and where its progress goes. */
export interface StageWork {
  files: JobFiles
  signal?: AbortSignal
  /** This stage's progress: 0..1 when known, and times realtime. */
  progress(stageFraction?: number, speed?: number): void
}

/** A package in storage, as the catalog records it. */
export interface PublishedPackage {
  location: string
  manifest: PackageManifest
  /** The manifests this publish changed (for the CDN). */
  changedManifests: string[]
}

/** The work of each stage. Each writes its output whole or not at all (a folder appears complete). */
export interface VodJobStages {
  /** Copies a stored input to `files.inputFile`. */
  fetch(work: StageWork): Promise<void>
  /** `files.source` to renditions in `files.renditionsDir`. */
  transcode(work: StageWork): Promise<void>
  /** The renditions to a package in `files.packageDir`. */
  segment(work: StageWork): Promise<void>
  /** The package to storage; the catalog is the job's to write, after it. */
  publish(work: StageWork): Promise<PublishedPackage>
  /** Tells the CDN about changed manifests, once the catalog says ready. */
  invalidate(changedManifests: readonly string[]): Promise<void>
}

/** The video's row, as the job reads and writes it. */
export interface VodJobCatalog {
  findVideo(videoId: string): Promise<Pick<Video, 'status' | 'packageLocation'> | undefined>
  /** processing (with progress) or failed (with the reason). */
  writeStatus(status: JobStatusInput): Promise<void>
  writeReady(video: UpsertVideoInput & {status: 'ready'}): Promise<void>
}

export interface VodJobDeps {
  /** The storage the package is published to, opened once for the job: it says where the package lives. */
  target: Pick<Storage, 'uri'>
  /** What identifies the input as it is now (size and time, or the store's checksum); a UserError when it is missing. */
  describeInput(): Promise<unknown>
  catalog: VodJobCatalog
  stages: VodJobStages
  /** The clock: a fake one in unit tests. */
  now?(): number
}

export interface VodJobRunSettings {
  dataDir: string
  signal?: AbortSignal
  onProgress?: (progress: VodJobProgress) => void
  /** Removes the intermediate files once published (default true). */
  cleanUp?: boolean
}

/** Share of the whole job each stage takes, for one progress fraction. */
const STAGE_SPAN: Record<VodStage, [number, number]> = {fetch: [0, 0.05], transcode: [0.05, 0.8], segment: [0.8, 0.9], publish: [0.9, 1]}

/** Catalog progress is written at most this often (the catalog is shared by every worker). */
const STATUS_INTERVAL_MS = 1000

/** Where a job stands: what it is made from, what a previous run recorded, whether that still holds. */
export interface VodJobInspection {
  videoId: string
  dir: string
  /** Where the package is (or will be) published. */
  location: string
  fingerprint: string
  /** The job's recorded state, when it was made from the same input and settings. */
  state?: JobState
  /** Its result, when that run's package is still the video's in the catalog: nothing to do. */
  published?: VodJobResult
}

export async function inspectVodJob(spec: VodJobSpec, dataDir: string, deps: Pick<VodJobDeps, 'target' | 'describeInput' | 'catalog'>): Promise<VodJobInspection> {
  const videoId = assertValidId(spec.videoId)
  const dir = jobDir(dataDir, videoId)
  const location = packageLocation(deps.target, videoId)
  const fingerprint = fingerprintOf(spec, await deps.describeInput())
  const recorded = await readState(stateFileOf(dir))
  const state = recorded?.fingerprint === fingerprint ? recorded : undefined
  let published: VodJobResult | undefined
  if (state?.result) {
    const video = await deps.catalog.findVideo(videoId)
    if (video?.status === 'ready' && video.packageLocation === state.result.location) published = state.result
  }

  return {videoId, dir, location, fingerprint, state, published}
}

/** The stages whose output folder is cleared before they run (a half-written one from a killed run). */
const OUTPUT_DIR: Partial<Record<VodStage, keyof JobFiles>> = {transcode: 'renditionsDir', segment: 'packageDir'}

/** Runs (or resumes, or skips) one job. Throws the stage's error after writing `failed` with its reason. */
export async function runVodJobStages(spec: VodJobSpec, settings: VodJobRunSettings, deps: VodJobDeps): Promise<VodJobResult> {
  const now = deps.now ?? Date.now
  const started = now()
  const secondsSinceStart = () => Math.round((now() - started) / 10) / 100
  const job = await inspectVodJob(spec, settings.dataDir, deps)
  if (job.published) return {...job.published, outcome: 'skipped', ran: [], seconds: secondsSinceStart()}

  const title = spec.title ?? job.videoId
  // A new input or new settings: nothing done before counts.
  if (!job.state) await removeQuietly(job.dir)
  const stateFile = stateFileOf(job.dir)
  const current: JobState = {version: 1, fingerprint: job.fingerprint, done: {...job.state?.done}}
  await ensureDir(job.dir)
  await writeJsonAtomic(stateFile, current)

  const status = statusWriter(deps.catalog, {id: job.videoId, title, packageLocation: job.location}, now)
  const progressOf = (stage: VodStage) => (stageFraction?: number, speed?: number) => {
    // Work still reporting after the job settled (the other chunks of a failed chunked transcode) says nothing more.
    if (status.isClosed()) return
    const [from, to] = STAGE_SPAN[stage]
    const fraction = from + (to - from) * Math.min(Math.max(stageFraction ?? 0, 0), 1)
    settings.onProgress?.({stage, fraction, stageFraction, speed})
    status.progress(fraction)
  }

  const files = jobFiles(spec, job.dir)
  const ran: VodStage[] = []
  const pending = new Set(await pendingStages(spec, job.dir, current.done))
  try {
    await status.processing(STAGE_SPAN.fetch[0])
    for (const stage of ['fetch', 'transcode', 'segment'] as const) {
      if (!pending.has(stage)) continue
      const work = {files, signal: settings.signal, progress: progressOf(stage)}
      work.progress(0)
      const output = OUTPUT_DIR[stage]
      if (output) await removeQuietly(files[output])
      await deps.stages[stage](work)
      current.done[stage] = true
      ran.push(stage)
      await writeJsonAtomic(stateFile, current)
    }

    const work = {files, signal: settings.signal, progress: progressOf('publish')}
    work.progress(0)
    const published = await deps.stages.publish(work)
    // No progress write may land after the ready one.
    await status.close()
    await deps.catalog.writeReady({id: job.videoId, title, status: 'ready', packageLocation: published.location, manifest: published.manifest})
    await deps.stages.invalidate(published.changedManifests)

    const result: VodJobResult = {
      videoId: job.videoId,
      outcome: 'published',
      location: published.location,
      durationSeconds: published.manifest.durationSeconds,
      renditions: published.manifest.renditions.map((rendition) => rendition.name),
      ran: [...ran, 'publish'],
      seconds: secondsSinceStart(),
    }
    current.done.publish = true
    current.result = result
    await writeJsonAtomic(stateFile, current)
    if (settings.cleanUp !== false) {
      await removeQuietly(files.renditionsDir)
      await removeQuietly(files.packageDir)
      await removeQuietly(files.inputFile)
    }

    settings.onProgress?.({stage: 'publish', fraction: 1, stageFraction: 1})
    return result
  } catch (error) {
    await status.close()
    const report = toErrorReport(error)
    const reason = error instanceof CancelledError || settings.signal?.aborted
      ? `Interrupted before it finished: run it again to continue (${report.message})`
      : report.message
    // The reason is recorded even when the catalog write that failed is what stopped the job (best effort).
    await status.failed(reason).catch(() => undefined)
    throw error
  }
}

export interface VodJobPlan {
  videoId: string
  input: string
  location: string
  /** skip: published before from the same input and settings; run: from the start; resume: from a later stage. */
  action: 'skip' | 'run' | 'resume'
  /** The stages a run would do. */
  stages: VodStage[]
}

/** What runVodJobStages would do now, without doing it (for --dry-run). */
export async function planVodJobStages(spec: VodJobSpec, dataDir: string, deps: Pick<VodJobDeps, 'target' | 'describeInput' | 'catalog'>): Promise<VodJobPlan> {
  const {videoId, dir, location, state, published} = await inspectVodJob(spec, dataDir, deps)
  const plan = {videoId, input: spec.input, location}
  if (published) return {...plan, action: 'skip', stages: []}
  const stages = await pendingStages(spec, dir, state?.done ?? {})
  return {...plan, action: stages.length < allStages(spec).length ? 'resume' : 'run', stages}
}

/**
 * The job's status writes: progress at most once a second (and only when it moved), one write at
 * a time and never blocking the work; a failed progress write is not the job's failure.
 */
function statusWriter(catalog: VodJobCatalog, video: {id: string; title: string; packageLocation: string}, now: () => number) {
  let lastWrite = 0
  let lastFraction = -1
  let queue: Promise<void> = Promise.resolve()
  let closed = false
  const processing = async (fraction: number) => {
    lastWrite = now()
    lastFraction = fraction
    await catalog.writeStatus({...video, status: 'processing', progress: Math.round(fraction * 1000) / 1000})
  }

  return {
    /** The first write, which must succeed (it is what says the job started). */
    processing,
    progress(fraction: number) {
      if (closed) return
      queue = queue.then(async () => {
        if (closed || now() - lastWrite < STATUS_INTERVAL_MS || fraction - lastFraction < 0.01) return
        await processing(fraction)
      }).catch(() => undefined)
    },
    /** No progress is written from now on (the final status comes next); resolves once the writes asked for so far are done. */
    close: () => {
      closed = true
      return queue
    },
    isClosed: () => closed,
    failed: (reason: string) => catalog.writeStatus({...video, status: 'failed', statusReason: reason.slice(0, 1900)}),
  }
}
