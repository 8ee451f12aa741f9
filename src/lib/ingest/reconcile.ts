/**
 * After a crash (kill -9, power loss) an ingest node leaves its streams `live` in the catalog, with
 * live playlists in storage that will never end. On its next start it closes them from what
 * reached storage: every segment the catalog or the stored playlists know of and storage holds,
 * ended playlists, a static MPD, `livectl-package.json`, status `ended`, or `failed` with the
 * reason when nothing usable was published. Only its own streams (by node id): nodes that share
 * one catalog never close each other's.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import type {Readable} from 'node:stream'

import type {Catalog} from '../catalog/connection.js'
import {listLiveVideosOf, upsertVideo} from '../catalog/videos.js'
import {BugError} from '../errors.js'
import {buildMasterPlaylist} from '../package/hls-master.js'
import {buildMediaPlaylist} from '../package/hls-media.js'
import {appendSegment, DASH_MANIFEST_FILE, HLS_MASTER_FILE, PACKAGE_MANIFEST_FILE, type PackageManifest, type PackageSegment, type PackageTrack} from '../package/manifest.js'
import {cacheControlFor, contentTypeFor} from '../package/media-types.js'
import {parseM3u8} from '../package/verify.js'
import {sha256OfFile} from '../storage/checksum.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import type {Storage} from '../storage/storage.js'

export interface ReconcileOptions {
  catalog: Catalog
  nodeId: string
  storageConfig: StorageConfig
  dvrWindowSeconds: number
  log: (line: string) => void
}

export interface ReconcileResult {
  videoId: string
  status: 'ended' | 'failed'
  reason?: string
  durationSeconds: number
}

const round = (seconds: number) => Math.round(seconds * 1e6) / 1e6

/** An object's text, or undefined when storage has no such object (storage failing is an error: the stream stays live, and is closed next start). */
async function readText(storage: Storage, key: string): Promise<string | undefined> {
  if (!(await storage.head(key))) return undefined
  const stream: Readable = await storage.get(key)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * A live MPD made static over exactly `tracks`' segments: the live-only attributes go, the
 * duration is stated, and each representation's SegmentTimeline lists its segments (from the
 * timeline's first time, in its own timescale), so DASH and HLS describe the same media.
 */
export function staticMpdFrom(liveMpd: string, tracks: readonly PackageTrack[], durationSeconds: number): string {
  let mpd = liveMpd.replace(/<MPD\b[^>]*>/, (opening) =>
    opening
      .replace(/\s(timeShiftBufferDepth|minimumUpdatePeriod|suggestedPresentationDelay|availabilityStartTime|publishTime)="[^"]*"/g, '')
      .replace(/type="dynamic"/, `type="static"\n\tmediaPresentationDuration="PT${durationSeconds.toFixed(1)}S"`),
  )
  mpd = mpd.replace(/<UTCTiming\b[^>]*\/>\s*/g, '')
  return mpd.replace(/<Representation id="(\d+)"[\s\S]*?<\/Representation>/g, (representation, id: string) => {
    const track = tracks.find((candidate) => candidate.id === id)
    const timescale = Number(/timescale="(\d+)"/.exec(representation)?.[1] ?? 1000)
    const first = Number(/<S t="(\d+)"/.exec(representation)?.[1] ?? 0)
    if (!track) return representation
    const entries: Array<{d: number; r: number}> = []
    for (const segment of track.segments) {
      const d = Math.round(segment.durationSeconds * timescale)
      const last = entries.at(-1)
      if (last && last.d === d) last.r += 1
      else entries.push({d, r: 0})
    }

    const lines = entries.map((entry, index) => `\t\t\t\t\t\t<S ${index === 0 ? `t="${first}" ` : ''}d="${entry.d}"${entry.r > 0 ? ` r="${entry.r}"` : ''} />`)
    return representation.replace(/<SegmentTimeline>[\s\S]*?<\/SegmentTimeline>/, `<SegmentTimeline>\n${lines.join('\n')}\n\t\t\t\t\t</SegmentTimeline>`)
  })
}

/** A live track's HLS media playlist: every track of a live package has one (live-publisher.ts writes them). */
function livePlaylistOf(track: PackageTrack): string {
  if (!track.playlist) throw new BugError(`Track ${track.id} (${track.name}) of a live package has no HLS playlist`)
  return track.playlist
}

/** The segments of a track storage holds: what the catalog knew, then what the stored playlist adds. */
function mergeSegments(track: PackageTrack, playlist: string | undefined, stored: Map<string, number>): PackageSegment[] {
  const segments = track.segments.filter((segment) => stored.has(segment.file)).map((segment) => ({...segment}))
  const known = new Set(segments.map((segment) => segment.file))
  for (const entry of playlist ? parseM3u8(playlist).segments : []) {
    if (known.has(entry.uri) || !stored.has(entry.uri)) continue
    appendSegment(segments, entry.uri, entry.duration, stored.get(entry.uri) ?? 0)
    known.add(entry.uri)
  }

  return segments
}

async function closeVideo(storage: Storage, manifest: PackageManifest, dvrWindowSeconds: number): Promise<PackageManifest | undefined> {
  const stored = new Map<string, number>()
  for await (const object of storage.list('')) stored.set(object.key, object.sizeBytes)
  const tracks: PackageTrack[] = []
  for (const track of [...manifest.renditions, ...(manifest.audio ? [manifest.audio] : [])]) {
    if (!track.init.file || !stored.has(track.init.file)) return undefined
    tracks.push({...track, segments: mergeSegments(track, await readText(storage, livePlaylistOf(track)), stored)})
  }

  const video = tracks.filter((track) => track.type === 'video')
  const audio = tracks.find((track) => track.type === 'audio')
  const last = video[0]?.segments.at(-1)
  if (!last) return undefined
  const durationSeconds = round(last.startSeconds + last.durationSeconds)
  const liveMpd = await readText(storage, DASH_MANIFEST_FILE)
  const files = tracks.flatMap((track) => [track.init, ...track.segments])
  const closed: PackageManifest = {
    ...manifest,
    createdAt: new Date().toISOString(),
    durationSeconds,
    formats: liveMpd ? ['hls', 'dash'] : ['hls'],
    dashManifest: liveMpd ? DASH_MANIFEST_FILE : undefined,
    renditions: video,
    audio,
    totalFiles: files.length + tracks.length + (liveMpd ? 3 : 2),
    totalBytes: files.reduce((sum, file) => sum + file.sizeBytes, 0),
  }

  // Written in publish order: playlists, then the master and the MPD, then the package manifest.
  const texts: Array<[string, string]> = [
    ...tracks.map((track): [string, string] => [livePlaylistOf(track), buildMediaPlaylist({initFile: track.init.file, segments: track.segments, windowSeconds: dvrWindowSeconds, ended: true})]),
    [HLS_MASTER_FILE, buildMasterPlaylist(video, audio)],
    ...(liveMpd ? [[DASH_MANIFEST_FILE, staticMpdFrom(liveMpd, tracks, durationSeconds)] as [string, string]] : []),
    [PACKAGE_MANIFEST_FILE, `${JSON.stringify(closed, null, 2)}\n`],
  ]
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'livectl-reconcile-'))
  try {
    for (const [file, text] of texts) {
      const local = path.join(scratch, file)
      await writeFile(local, text)
      const sizeBytes = Buffer.byteLength(text)
      await storage.putFile(file, local, {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256: await sha256OfFile(local, sizeBytes), sizeBytes})
    }
  } finally {
    await rm(scratch, {recursive: true, force: true})
  }

  return closed
}

/** Closes every stream this node left live. A stream that cannot be closed now stays live (and is tried again next start). */
export async function reconcileLiveVideos(options: ReconcileOptions): Promise<ReconcileResult[]> {
  const results: ReconcileResult[] = []
  for (const video of await listLiveVideosOf(options.catalog, options.nodeId)) {
    const finish = async (status: 'ended' | 'failed', manifest?: PackageManifest, reason?: string) => {
      await upsertVideo(options.catalog, {id: video.id, title: video.title, status, packageLocation: video.packageLocation, manifest, statusReason: reason, ingestNode: options.nodeId})
      results.push({videoId: video.id, status, reason, durationSeconds: manifest?.durationSeconds ?? 0})
      options.log(`live ${video.id} was left live by this node (it stopped without ending it): ${status}${reason ? ` (${reason})` : `, ${manifest?.durationSeconds.toFixed(1)} s kept as VOD`}`)
    }

    try {
      if (!video.package) {
        await finish('failed', undefined, 'the ingest node stopped before anything of this stream was published')
        continue
      }

      const storage = await openStorage(video.packageLocation, options.storageConfig)
      const closed = await closeVideo(storage, video.package, options.dvrWindowSeconds)
      if (closed) await finish('ended', closed)
      else await finish('failed', undefined, 'the ingest node stopped before a complete segment was in storage')
    } catch (error) {
      options.log(`live ${video.id} was left live by this node and could not be closed now: ${(error as Error).message}`)
    }
  }

  return results
}
