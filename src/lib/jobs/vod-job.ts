/**
 * A VOD job: one recording through transcode, segment and publish, as one unit that `demo`, `run`
 * and the queue worker all use. The job alone writes its video's catalog status (processing with
 * progress, then ready from the publish, or failed with the reason) and keeps its state in
 * DATA/jobs/ID/state.json, so that a re-run continues from the first unfinished stage and a
 * finished job re-run does nothing.
 *
 * The stages are today's functions, each already idempotent and atomic: a transcode or segment
 * output directory appears only when complete, a publish uploads only what storage lacks.
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import type {InvalidationOptions} from '../cdn/invalidate.js'
import {withCatalog} from '../catalog/connection.js'
import {assertValidId, idFromName} from '../catalog/ids.js'
import {findVideoWithPackage, writeJobStatus} from '../catalog/videos.js'
import {CancelledError, toErrorReport, UserError} from '../errors.js'
import {ensureDir, exists, readJsonFile, removeQuietly, writeJsonAtomic} from '../files.js'
import type {ChunkEncoder} from '../media/chunks.js'
import {loadLadder} from '../media/ladder.js'
import {RENDITIONS_FILE} from '../media/renditions.js'
import {transcodeLadder} from '../media/transcode.js'
import {PACKAGE_MANIFEST_FILE, type PackageFormat, type PackageManifest} from '../package/manifest.js'
import {segmentPackage} from '../package/segment.js'
import {publishPackage} from '../publish/publish.js'
import {downloadObject, openObject} from '../storage/object.js'
import {isStorageUri, openStorage, type StorageConfig} from '../storage/open.js'
import type {DeinterlaceMode} from '../media/picture.js'
import {DEFAULT_RATE_CONTROL, type RateControlMode} from '../media/rate-control.js'
import {chunkExchangeUri} from './chunk-transfer.js'

/** Everything a job needs that is not machine-specific: JSON, so it can travel through a queue. */
export interface VodJobSpec {
  /** A file path (on a folder every worker sees), or a storage URI of one object (s3://bucket/key, hdfs://..., file://...). */
  input: string
  videoId: string
  title?: string
  /** Storage URI the package is published to. */
  to: string
  /** Rung names (1080p,720p,...) or a ladder JSON file. */
  ladder: string
  segmentDurationSeconds: number
  preset: string
  /** How each rung spends bits (default DEFAULT_RATE_CONTROL). */
  rateControl?: RateControlMode
  /** Interlaced sources (default auto: detected). */
  deinterlace?: DeinterlaceMode
  formats?: PackageFormat[]
  invalidate?: InvalidationOptions
  /** Encode in chunks of this many seconds (see media/chunks.ts). */
  chunkSeconds?: number
}

/** Where and how this process runs the job. */
export interface VodJobEnvironment extends StorageConfig {
  dataDir: string
  db?: string
  signal?: AbortSignal
  onProgress?: (progress: VodJobProgress) => void
  /** Removes the intermediate renditions and package once published (default true). */
  cleanUp?: boolean
  /** Where the chunks of a chunked job are encoded (the queue's workers); default here. */
  chunkEncoder?: ChunkEncoder
}

export type VodStage = 'fetch' | 'transcode' | 'segment' | 'publish'

export interface VodJobProgress {
  stage: VodStage
  /** The whole job, 0..1. */
  fraction: number
  /** The current stage, 0..1 when known. */
  stageFraction?: number
  /** Times realtime (transcode). */
  speed?: number
}

export interface VodJobResult {
  videoId: string
  /** published: this run published it; skipped: it was published before from the same input and settings. */
  outcome: 'published' | 'skipped'
  location: string
  durationSeconds: number
  renditions: string[]
  /** The stages this run did (a resumed job does fewer). */
  ran: VodStage[]
  seconds: number
}

/** Share of the whole job each stage takes, for one progress fraction. */
const STAGE_SPAN: Record<VodStage, [number, number]> = {fetch: [0, 0.05], transcode: [0.05, 0.8], segment: [0.8, 0.9], publish: [0.9, 1]}

/** Catalog progress is written at most this often (the catalog is shared by every worker). */
const STATUS_INTERVAL_MS = 1000

interface JobState {
  version: 1
  /** What the job was made from: when it changes, the job starts over. */
  fingerprint: string
  done: Partial<Record<VodStage, true>>
  result?: VodJobResult
}

/** A video id from an input's file name: "talks/Keynote 2026.mov" -> "keynote-2026". */
export function videoIdFromInput(input: string): string {
  const name = input.split(/[\\/]/).filter(Boolean).at(-1) ?? input
  return idFromName(name.replace(/\.[^.]+$/, ''))
}

export function jobDir(dataDir: string, videoId: string): string {
  return path.join(path.resolve(dataDir), 'jobs', assertValidId(videoId))
}

/** What identifies the input and the settings: size and modification time, or the store's checksum. */
async function fingerprintOf(spec: VodJobSpec, config: StorageConfig): Promise<string> {
  let source: unknown
  if (isStorageUri(spec.input)) {
    const {storage, key} = await openObject(spec.input, config)
    const info = await storage.head(key)
    if (!info) throw new UserError(`Input not found: ${spec.input}`, {hint: 'Check the URI; a worker reads inputs from shared storage.'})
    source = {size: info.sizeBytes, etag: info.etag, sha256: info.sha256, modified: info.modified?.toISOString()}
  } else {
    const facts = await stat(spec.input).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new UserError(`Input not found: ${spec.input}`)
      throw error
    })
    if (!facts.isFile()) throw new UserError(`Input is not a file: ${spec.input}`)
    source = {size: facts.size, mtimeMs: Math.round(facts.mtimeMs)}
  }

  return JSON.stringify({source, to: spec.to, ladder: spec.ladder, segment: spec.segmentDurationSeconds, preset: spec.preset, rate: spec.rateControl ?? DEFAULT_RATE_CONTROL, ...(spec.deinterlace && spec.deinterlace !== 'auto' ? {deinterlace: spec.deinterlace} : {}), formats: spec.formats ?? ['hls', 'dash'], chunk: spec.chunkSeconds})
}

async function readState(file: string): Promise<JobState | undefined> {
  if (!(await exists(file))) return undefined
  try {
    const state = (await readJsonFile(file, new UserError(`Missing ${file}`))) as JobState
    return state.version === 1 ? state : undefined
  } catch {
    // A damaged state file only costs a redo.
    return undefined
  }
}

interface JobInspection {
  videoId: string
  dir: string
  stateFile: string
  /** Where the package is (or will be) published. */
  location: string
  fingerprint: string
  /** The job's recorded state, when it was made from the same input and settings. */
  state?: JobState
  /** Its result, when that run's package is still the video's in the catalog: nothing to do. */
  published?: VodJobResult
}

/** Where a job stands: what it is made from, what a previous run recorded, whether that still holds. */
async function inspectJob(spec: VodJobSpec, environment: JobEnvironmentFacts): Promise<JobInspection> {
  const videoId = assertValidId(spec.videoId)
  const dir = jobDir(environment.dataDir, videoId)
  const stateFile = path.join(dir, 'state.json')
  const location = `${(await openStorage(spec.to, environment)).uri.replace(/\/$/, '')}/${videoId}`
  const fingerprint = await fingerprintOf(spec, environment)
  const recorded = await readState(stateFile)
  const state = recorded?.fingerprint === fingerprint ? recorded : undefined
  let published: VodJobResult | undefined
  if (state?.result) {
    const video = await withCatalog({url: environment.db, dataDir: environment.dataDir}, (catalog) => findVideoWithPackage(catalog, videoId))
    if (video?.status === 'ready' && video.packageLocation === state.result.location) published = state.result
  }

  return {videoId, dir, stateFile, location, fingerprint, state, published}
}

type JobEnvironmentFacts = Pick<VodJobEnvironment, 'dataDir' | 'db' | 's3Endpoint' | 'hdfsUser' | 'hdfsDelegationToken'>

/** The job's work files: the fetched input (storage inputs), the renditions, the package. */
function workFiles(spec: VodJobSpec, dir: string) {
  return {
    inputFile: path.join(dir, `input${path.extname(spec.input.split('?')[0] ?? '') || '.bin'}`),
    renditionsDir: path.join(dir, 'renditions'),
    packageDir: path.join(dir, 'package'),
  }
}

function allStages(spec: VodJobSpec): VodStage[] {
  return [...(isStorageUri(spec.input) ? (['fetch'] as const) : []), 'transcode', 'segment', 'publish']
}

/** The stages a run does, given what is recorded done: a stage counts as done only while its output is still there. */
async function pendingStages(spec: VodJobSpec, dir: string, done: JobState['done']): Promise<VodStage[]> {
  const {inputFile, renditionsDir, packageDir} = workFiles(spec, dir)
  const transcoded = Boolean(done.transcode) && (await exists(path.join(renditionsDir, RENDITIONS_FILE)))
  const fetched = Boolean(done.fetch) && (await exists(inputFile))
  const segmented = Boolean(done.segment) && (await exists(path.join(packageDir, PACKAGE_MANIFEST_FILE)))
  const skip: Partial<Record<VodStage, boolean>> = {fetch: transcoded || fetched, transcode: transcoded, segment: segmented}
  return allStages(spec).filter((stage) => !skip[stage])
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

/** What runVodJob would do now, without doing it (for --dry-run). */
export async function planVodJob(spec: VodJobSpec, environment: JobEnvironmentFacts): Promise<VodJobPlan> {
  const {videoId, dir, location, state, published} = await inspectJob(spec, environment)
  const plan = {videoId, input: spec.input, location}
  if (published) return {...plan, action: 'skip', stages: []}
  const stages = await pendingStages(spec, dir, state?.done ?? {})
  return {...plan, action: stages.length < allStages(spec).length ? 'resume' : 'run', stages}
}

/** Runs (or resumes, or skips) one job. Throws the stage's error after writing `failed` with its reason. */
export async function runVodJob(spec: VodJobSpec, environment: VodJobEnvironment): Promise<VodJobResult> {
  const started = Date.now()
  const {videoId, dir, stateFile, location, fingerprint, state: recorded, published} = await inspectJob(spec, environment)
  const catalogOptions = {url: environment.db, dataDir: environment.dataDir}
  const title = spec.title ?? videoId
  if (published) return {...published, outcome: 'skipped', ran: [], seconds: Math.round((Date.now() - started) / 10) / 100}

  // A new input or new settings: nothing done before counts.
  if (!recorded) await removeQuietly(dir)
  const state: JobState = recorded ?? {version: 1, fingerprint, done: {}}

  const current: JobState = {...state, done: {...state.done}, result: undefined}
  await ensureDir(dir)
  await writeJsonAtomic(stateFile, current)

  let lastWrite = 0
  let lastFraction = -1
  const writeStatus = async (fraction: number, force = false) => {
    const now = Date.now()
    if (!force && (now - lastWrite < STATUS_INTERVAL_MS || fraction - lastFraction < 0.01)) return
    lastWrite = now
    lastFraction = fraction
    await withCatalog(catalogOptions, (catalog) =>
      writeJobStatus(catalog, {id: videoId, title, status: 'processing', packageLocation: location, progress: Math.round(fraction * 1000) / 1000}),
    )
  }

  let statusWrite: Promise<void> = Promise.resolve()
  const report = (stage: VodStage, stageFraction?: number, speed?: number) => {
    const [from, to] = STAGE_SPAN[stage]
    const fraction = from + (to - from) * Math.min(Math.max(stageFraction ?? 0, 0), 1)
    environment.onProgress?.({stage, fraction, stageFraction, speed})
    // One write at a time, never blocking the work; a failed progress write is not the job's failure.
    statusWrite = statusWrite.then(() => writeStatus(fraction)).catch(() => undefined)
  }

  const ran: VodStage[] = []
  const markDone = async (stage: VodStage) => {
    current.done[stage] = true
    ran.push(stage)
    await writeJsonAtomic(stateFile, current)
  }

  const {inputFile, renditionsDir, packageDir} = workFiles(spec, dir)
  const pending = new Set(await pendingStages(spec, dir, current.done))

  try {
    await writeStatus(STAGE_SPAN.fetch[0], true)

    const source = isStorageUri(spec.input) ? inputFile : spec.input
    if (pending.has('fetch')) {
      report('fetch', 0)
      const {storage, key} = await openObject(spec.input, environment)
      await downloadObject(storage, key, inputFile)
      await markDone('fetch')
    }

    if (pending.has('transcode')) {
      report('transcode', 0)
      await removeQuietly(renditionsDir)
      await transcodeLadder({
        input: source,
        outputDir: renditionsDir,
        rungs: await loadLadder(spec.ladder),
        segmentDurationSeconds: spec.segmentDurationSeconds,
        preset: spec.preset,
        rateControl: spec.rateControl ?? DEFAULT_RATE_CONTROL,
        ...(spec.deinterlace ? {deinterlace: spec.deinterlace} : {}),
        ...(spec.chunkSeconds === undefined ? {} : {chunkSeconds: spec.chunkSeconds}),
        ...(environment.chunkEncoder ? {chunkEncoder: environment.chunkEncoder} : {}),
        // Workers on other machines read a stored input from storage and return chunks through it.
        ...(environment.chunkEncoder && isStorageUri(spec.input) ? {chunkShared: {inputUri: spec.input, outputUri: chunkExchangeUri(spec.to, videoId)}} : {}),
        signal: environment.signal,
        onProgress: (progress) => report('transcode', progress.fraction, progress.speed),
      })
      await markDone('transcode')
    }

    if (pending.has('segment')) {
      report('segment', 0)
      await removeQuietly(packageDir)
      await segmentPackage({
        inputDir: renditionsDir,
        outputDir: packageDir,
        formats: spec.formats ?? ['hls', 'dash'],
        signal: environment.signal,
        onProgress: (progress) => report('segment', progress.fraction),
      })
      await markDone('segment')
    }

    report('publish', 0)
    const published = await publishPackage({
      packageDir,
      to: spec.to,
      videoId,
      title,
      dataDir: environment.dataDir,
      db: environment.db,
      s3Endpoint: environment.s3Endpoint,
      hdfsUser: environment.hdfsUser,
      hdfsDelegationToken: environment.hdfsDelegationToken,
      invalidate: spec.invalidate,
      signal: environment.signal,
      onProgress: (progress) => report('publish', progress.bytesTotal ? progress.bytesDone / progress.bytesTotal : undefined),
    })
    await statusWrite
    const manifest = (await readJsonFile(path.join(packageDir, PACKAGE_MANIFEST_FILE), new UserError('package manifest missing'))) as PackageManifest
    const result: VodJobResult = {
      videoId,
      outcome: 'published',
      location: published.location,
      durationSeconds: manifest.durationSeconds,
      renditions: manifest.renditions.map((rendition) => rendition.name),
      ran: [...ran, 'publish'],
      seconds: Math.round((Date.now() - started) / 10) / 100,
    }
    current.done.publish = true
    current.result = result
    await writeJsonAtomic(stateFile, current)
    if (environment.cleanUp !== false) {
      await removeQuietly(renditionsDir)
      await removeQuietly(packageDir)
      await removeQuietly(inputFile)
    }

    environment.onProgress?.({stage: 'publish', fraction: 1, stageFraction: 1})
    return result
  } catch (error) {
    await statusWrite
    const report = toErrorReport(error)
    const reason = error instanceof CancelledError || environment.signal?.aborted
      ? `Interrupted before it finished: run it again to continue (${report.message})`
      : report.message
    // The reason is recorded even when the catalog write that failed is what stopped the job (best effort).
    await withCatalog(catalogOptions, (catalog) => writeJobStatus(catalog, {id: videoId, title, status: 'failed', packageLocation: location, statusReason: reason.slice(0, 1900)})).catch(() => undefined)
    throw error
  }
}
