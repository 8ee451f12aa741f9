/** Videos in the catalog: registration, lookup and listing. */
import type {Insertable, Updateable} from 'kysely'

import {UserError} from '../errors.js'
import type {PackageManifest} from '../package/manifest.js'
import type {Catalog} from './connection.js'
import {assertValidId} from './ids.js'
import type {VideoStatus, VideosTable} from './schema.js'

export interface Video {
  id: string
  title: string
  status: VideoStatus
  durationSeconds: number
  packageLocation: string
  /** Why it failed, when its status is failed. */
  statusReason?: string
  /** While live with low latency: the origin serving it (BASE/master.m3u8, BASE/manifest.mpd). */
  liveOriginUrl?: string
  /** While processing: how far its job has got, 0..1. */
  progress?: number
  createdAt: string
  updatedAt: string
}

export interface VideoWithPackage extends Video {
  package?: PackageManifest
}

function toVideo(row: Omit<VideosTable, 'package_manifest' | 'ingest_node'>): Video {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    durationSeconds: Number(row.duration_seconds),
    packageLocation: row.package_location,
    ...(row.status_reason ? {statusReason: row.status_reason} : {}),
    ...(row.live_origin_url ? {liveOriginUrl: row.live_origin_url} : {}),
    ...(row.status === 'processing' && row.progress !== null && row.progress !== undefined ? {progress: Number(row.progress)} : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export interface UpsertVideoInput {
  id: string
  title: string
  status: VideoStatus
  packageLocation: string
  manifest?: PackageManifest
  /** Why it failed (status failed). */
  statusReason?: string
  /** The ingest node running it live. */
  ingestNode?: string
  /** Its low-latency origin while live (cleared otherwise). */
  liveOriginUrl?: string
}

/** Creates the video or replaces its package, keeping its creation time. */
export async function upsertVideo(catalog: Catalog, input: UpsertVideoInput): Promise<Video> {
  assertValidId(input.id)
  const now = new Date().toISOString()
  const values = {
    title: input.title,
    status: input.status,
    duration_seconds: input.manifest?.durationSeconds ?? 0,
    package_location: input.packageLocation,
    package_manifest: input.manifest ? JSON.stringify(input.manifest) : null,
    status_reason: input.statusReason ?? null,
    ingest_node: input.ingestNode ?? null,
    live_origin_url: input.status === 'live' ? input.liveOriginUrl ?? null : null,
    progress: null,
    updated_at: now,
  }
  await updateOrInsert(catalog, input.id, values, {id: input.id, created_at: now, ...values})
  const video = await findVideo(catalog, input.id)
  if (!video) throw new Error(`video ${input.id} vanished after it was written`)
  return video
}

const SUMMARY_COLUMNS = ['id', 'title', 'status', 'duration_seconds', 'package_location', 'status_reason', 'live_origin_url', 'progress', 'created_at', 'updated_at'] as const

export interface JobStatusInput {
  id: string
  title: string
  status: 'processing' | 'failed'
  /** Where the package will live (kept as it is when the video already has one). */
  packageLocation: string
  progress?: number
  statusReason?: string
}

/**
 * A VOD job's status: processing (with progress) or failed (with the reason). Only the status
 * columns change: a video that was published before keeps its package until the job publishes
 * the new one (and the job's publish writes ready).
 */
export async function writeJobStatus(catalog: Catalog, input: JobStatusInput): Promise<void> {
  assertValidId(input.id)
  const now = new Date().toISOString()
  const status = {
    status: input.status,
    status_reason: input.statusReason ?? null,
    progress: input.status === 'processing' ? input.progress ?? 0 : null,
    live_origin_url: null,
    updated_at: now,
  }
  await updateOrInsert(catalog, input.id, status, {
    id: input.id, title: input.title, duration_seconds: 0, package_location: input.packageLocation, package_manifest: null, ingest_node: null, created_at: now, ...status,
  })
}

/** In one transaction: `changes` to the video when it exists, else the whole `row`. */
async function updateOrInsert(catalog: Catalog, id: string, changes: Updateable<VideosTable>, row: Insertable<VideosTable>): Promise<void> {
  await catalog.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('videos').select('id').where('id', '=', id).executeTakeFirst()
    if (existing) await trx.updateTable('videos').set(changes).where('id', '=', id).execute()
    else await trx.insertInto('videos').values(row).execute()
  })
}

async function findVideo(catalog: Catalog, id: string): Promise<Video | undefined> {
  const row = await catalog.db.selectFrom('videos').select(SUMMARY_COLUMNS).where('id', '=', id).executeTakeFirst()
  return row ? toVideo(row) : undefined
}

export async function findVideoWithPackage(catalog: Catalog, id: string): Promise<VideoWithPackage | undefined> {
  const row = await catalog.db.selectFrom('videos').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) return undefined
  return {...toVideo(row), package: row.package_manifest ? (JSON.parse(row.package_manifest) as PackageManifest) : undefined}
}

/** The videos an ingest node has live (after a crash: the ones it left live). */
export async function listLiveVideosOf(catalog: Catalog, ingestNode: string): Promise<VideoWithPackage[]> {
  const rows = await catalog.db.selectFrom('videos').selectAll().where('status', '=', 'live').where('ingest_node', '=', ingestNode).execute()
  return rows.map((row) => ({...toVideo(row), package: row.package_manifest ? (JSON.parse(row.package_manifest) as PackageManifest) : undefined}))
}

/** The video, or a UserError naming the id (the API turns it into 404). */
export async function getVideo(catalog: Catalog, id: string): Promise<VideoWithPackage> {
  assertValidId(id)
  const video = await findVideoWithPackage(catalog, id)
  if (!video) throw new VideoNotFoundError(id)
  return video
}

export class VideoNotFoundError extends UserError {
  constructor(readonly videoId: string) {
    super(`Unknown video "${videoId}"`, {hint: 'List videos with `livectl videos list`.'})
  }
}

export interface VideoPage {
  videos: Video[]
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null
}

/** Newest first; `after` is the id of the last video of the previous page. */
export async function listVideos(catalog: Catalog, options: {limit?: number; after?: string} = {}): Promise<VideoPage> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 500)
  let query = catalog.db.selectFrom('videos').select(SUMMARY_COLUMNS).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1)
  if (options.after) {
    assertValidId(options.after, 'cursor')
    const anchor = await catalog.db.selectFrom('videos').select(['id', 'created_at']).where('id', '=', options.after).executeTakeFirst()
    if (!anchor) throw new UserError(`Unknown cursor "${options.after}"`)
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', anchor.created_at), eb.and([eb('created_at', '=', anchor.created_at), eb('id', '<', anchor.id)])]),
    )
  }

  const rows = await query.execute()
  const videos = rows.slice(0, limit).map(toVideo)
  return {videos, next: rows.length > limit ? (videos.at(-1)?.id ?? null) : null}
}
