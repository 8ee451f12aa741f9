/**
 * A VOD job: one recording through transcode, segment and publish, as one unit that `demo`, `run`,
 * `serve`'s uploads and the queue worker all use. The job alone writes its video's catalog status
 * (processing with progress, then ready, or failed with the reason) and keeps its state in
 * DATA/jobs/ID/state.json, so that a re-run continues from the first unfinished stage and a
 * finished job re-run does nothing.
 *
 * This module hands the real work to the stages of vod-job-runner.ts: today's functions, each
 * idempotent and atomic (a transcode or segment output directory appears only when complete, an
 * upload sends only what storage lacks), the catalog the process shares, and the job's storages,
 * each opened once.
 */
import {stat} from 'node:fs/promises'

import {invalidateCdn} from '../cdn/invalidate.js'
import {type Catalog, type CatalogOptions, queryCatalog} from '../catalog/connection.js'
import {sharedCatalog} from '../catalog/shared.js'
import {findVideoWithPackage, upsertVideo, writeJobStatus} from '../catalog/videos.js'
import {UserError} from '../errors.js'
import type {ChunkEncoder} from '../media/chunks.js'
import {loadLadder} from '../media/ladder.js'
import {transcodeLadder} from '../media/transcode.js'
import {segmentPackage} from '../package/segment.js'
import {uploadPackage} from '../publish/publish.js'
import {downloadObject, openObject} from '../storage/object.js'
import {isStorageUri, openStorage, type StorageConfig, storageConfigOf} from '../storage/open.js'
import type {Storage} from '../storage/storage.js'
import {chunkExchangeUri} from './chunk-transfer.js'
import type {VodJobSpec} from './job-spec.js'
import {planVodJobStages, runVodJobStages, type VodJobCatalog, type VodJobDeps, type VodJobPlan, type VodJobProgress, type VodJobStages} from './vod-job-runner.js'
import type {VodJobResult} from './vod-job-state.js'

// The job's public face: callers (batch, the worker, `run`, `demo`) need not know how it is split.

/** Where and how this process runs the job. */
export interface VodJobEnvironment extends CatalogOptions, StorageConfig {
  /** The catalog, kept open by the caller (`serve`'s); default: the one this process shares (catalog/shared.ts). */
  catalog?: Catalog
  signal?: AbortSignal
  onProgress?: (progress: VodJobProgress) => void
  /** Removes the intermediate renditions and package once published (default true). */
  cleanUp?: boolean
  /** Where the chunks of a chunked job are encoded (the queue's workers); default here. */
  chunkEncoder?: ChunkEncoder
}

/** Runs (or resumes, or skips) one job. Throws the stage's error after writing `failed` with its reason. */
export async function runVodJob(spec: VodJobSpec, environment: VodJobEnvironment): Promise<VodJobResult> {
  return runVodJobStages(spec, environment, await openVodJobDeps(spec, environment))
}

/** What runVodJob would do now, without doing it (for --dry-run). */
export async function planVodJob(spec: VodJobSpec, environment: VodJobEnvironment): Promise<VodJobPlan> {
  return planVodJobStages(spec, environment.dataDir, await openVodJobDeps(spec, environment))
}

/** The real work of a job: its storages opened once, the catalog opened when first used. */
async function openVodJobDeps(spec: VodJobSpec, environment: VodJobEnvironment): Promise<VodJobDeps> {
  const config = storageConfigOf(environment)
  const target = await openStorage(spec.to, config)
  const input = isStorageUri(spec.input) ? await openObject(spec.input, config) : undefined
  return {
    target,
    describeInput: () => describeInput(spec.input, input),
    catalog: vodJobCatalog(() => (environment.catalog ? Promise.resolve(environment.catalog) : sharedCatalog(environment))),
    stages: vodJobStages(spec, environment, {target, input}),
  }
}

/** What identifies the input: size and modification time, or the store's checksum. */
async function describeInput(input: string, stored: {storage: Storage; key: string} | undefined): Promise<unknown> {
  if (stored) {
    const info = await stored.storage.head(stored.key)
    if (!info) throw new UserError(`Input not found: ${input}`, {hint: 'Check the URI; a worker reads inputs from shared storage.'})
    return {size: info.sizeBytes, etag: info.etag, sha256: info.sha256, modified: info.modified?.toISOString()}
  }

  const facts = await stat(input).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new UserError(`Input not found: ${input}`)
    throw error
  })
  if (!facts.isFile()) throw new UserError(`Input is not a file: ${input}`)
  return {size: facts.size, mtimeMs: Math.round(facts.mtimeMs)}
}

function vodJobCatalog(open: () => Promise<Catalog>): VodJobCatalog {
  return {
    findVideo: async (videoId) => queryCatalog(await open(), (catalog) => findVideoWithPackage(catalog, videoId)),
    writeStatus: async (status) => queryCatalog(await open(), (catalog) => writeJobStatus(catalog, status)),
    writeReady: async (video) => {
      await queryCatalog(await open(), (catalog) => upsertVideo(catalog, video))
    },
  }
}

function vodJobStages(spec: VodJobSpec, environment: VodJobEnvironment, storages: {target: Storage; input?: {storage: Storage; key: string}}): VodJobStages {
  return {
    fetch: async ({files}) => {
      if (!storages.input) throw new Error(`fetch of a local input: ${spec.input}`)
      await downloadObject(storages.input.storage, storages.input.key, files.inputFile)
    },
    transcode: async ({files, signal, progress}) => {
      await transcodeLadder({
        input: files.source,
        outputDir: files.renditionsDir,
        rungs: await loadLadder(spec.ladder),
        segmentDurationSeconds: spec.segmentDurationSeconds,
        preset: spec.preset,
        rateControl: spec.rateControl,
        deinterlace: spec.deinterlace,
        ...(spec.chunkSeconds === undefined ? {} : {chunkSeconds: spec.chunkSeconds}),
        ...(environment.chunkEncoder ? {chunkEncoder: environment.chunkEncoder} : {}),
        // Workers on other machines read a stored input from storage and return chunks through it.
        ...(environment.chunkEncoder && isStorageUri(spec.input) ? {chunkShared: {inputUri: spec.input, outputUri: chunkExchangeUri(spec.to, spec.videoId)}} : {}),
        signal,
        onProgress: (update) => progress(update.fraction, update.speed),
      })
    },
    segment: async ({files, signal, progress}) => {
      await segmentPackage({
        inputDir: files.renditionsDir,
        outputDir: files.packageDir,
        formats: spec.formats,
        signal,
        onProgress: (update) => progress(update.fraction),
      })
    },
    publish: async ({files, signal, progress}) => {
      const {result, manifest} = await uploadPackage({
        packageDir: files.packageDir,
        to: storages.target,
        videoId: spec.videoId,
        dataDir: environment.dataDir,
        signal,
        onProgress: (update) => progress(update.bytesTotal ? update.bytesDone / update.bytesTotal : undefined),
      })
      return {location: result.location, manifest, changedManifests: result.changedManifests}
    },
    invalidate: async (changedManifests) => {
      if (spec.invalidate && changedManifests.length > 0) await invalidateCdn([...changedManifests], spec.invalidate)
    },
  }
}
