/**
 * Publishes a live package as ffmpeg writes it: each new segment goes to storage as soon as it is
 * complete (ffmpeg lists a segment in its playlist only once written), then the playlists that
 * reference it, never the other way round. While live, HLS media playlists hold a rolling window
 * and the MPD a matching timeShiftBufferDepth; at the end, the whole stream as VOD.
 */
import {readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {cacheControlFor, contentTypeFor} from '../package/media-types.js'
import type {Catalog} from '../catalog/connection.js'
import {upsertVideo} from '../catalog/videos.js'
import {ensureDir} from '../files.js'
import {plannedAvcCodecString} from '../media/codecs.js'
import type {PlannedRendition} from '../media/ladder.js'
import {buildMasterPlaylist} from '../package/hls-master.js'
import {buildMediaPlaylist} from '../package/hls-media.js'
import {DASH_MANIFEST_FILE, HLS_MASTER_FILE, PACKAGE_MANIFEST_FILE, type PackageManifest, type PackageSegment, type PackageTrack} from '../package/manifest.js'
import {mediaPlaylistName} from '../package/package-args.js'
import {parseM3u8} from '../package/verify.js'
import {withRetries} from '../retry.js'
import {sha256OfFile} from '../storage/checksum.js'
import type {Storage} from '../storage/storage.js'
import {joinKey} from '../storage/storage.js'
import {LIVE_AUDIO_KBPS} from './live-args.js'

export interface LivePublisherOptions {
  workDir: string
  storage: Storage
  catalog: Catalog
  videoId: string
  title: string
  renditions: readonly PlannedRendition[]
  hasAudio: boolean
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  /** Called when a segment is in storage, with the seconds it took from being written locally. */
  onSegmentPublished?: (lagSeconds: number, segmentEndSeconds: number) => void
}

interface TrackState {
  track: PackageTrack
  initUploaded: boolean
}

export class LivePublisher {
  private readonly tracks: TrackState[]
  private readonly location: string
  private readonly scratch: string

  constructor(private readonly options: LivePublisherOptions) {
    const video = options.renditions.map((rendition, id): TrackState => ({
      initUploaded: false,
      track: {
        id: String(id),
        name: rendition.name,
        type: 'video',
        codecs: plannedAvcCodecString(rendition.profile, rendition.width, rendition.pixelHeight),
        // Live peaks are not known in advance: the encoder's VBV ceiling is.
        bandwidth: rendition.maxRateKbps * 1000,
        averageBandwidth: rendition.videoBitrateKbps * 1000,
        width: rendition.width,
        height: rendition.pixelHeight,
        playlist: mediaPlaylistName(id),
        init: {file: '', sizeBytes: 0},
        segments: [],
      },
    }))
    const audio: TrackState[] = options.hasAudio
      ? [{
          initUploaded: false,
          track: {
            id: String(video.length), name: 'audio', type: 'audio', codecs: 'mp4a.40.2', bandwidth: LIVE_AUDIO_KBPS * 1000, averageBandwidth: LIVE_AUDIO_KBPS * 1000,
            channels: 2, sampleRate: 48_000, playlist: mediaPlaylistName(video.length), init: {file: '', sizeBytes: 0}, segments: [],
          },
        }]
      : []
    this.tracks = [...video, ...audio]
    this.location = `${options.storage.uri.replace(/\/$/, '')}/${options.videoId}`
    this.scratch = path.join(options.workDir, '.publish')
  }

  get packageLocation(): string {
    return this.location
  }

  /** Seconds published so far (the live edge). */
  get publishedSeconds(): number {
    const video = this.tracks[0]?.track.segments.at(-1)
    return video ? video.startSeconds + video.durationSeconds : 0
  }

  private async put(file: string, localPath: string): Promise<void> {
    const {size} = await stat(localPath)
    const sha256 = await sha256OfFile(localPath, size)
    await withRetries(
      () => this.options.storage.putFile(joinKey(this.options.videoId, file), localPath, {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256, sizeBytes: size}),
      {attempts: 5, baseMs: 100, maxMs: 2000},
    )
  }

  private async putText(file: string, text: string): Promise<void> {
    await ensureDir(this.scratch)
    const local = path.join(this.scratch, file)
    await writeFile(local, text)
    await this.put(file, local)
  }

  /** Uploads what ffmpeg has completed since the last call, then the playlists. Returns the number of new segments. */
  async sync(ended: boolean): Promise<number> {
    let mpd: string
    try {
      // The MPD first: every segment it lists is also in the HLS playlists read after it.
      mpd = await readFile(path.join(this.options.workDir, DASH_MANIFEST_FILE), 'utf8')
    } catch {
      return 0
    }

    const listings = await Promise.all(this.tracks.map(async (state) => {
      try {
        return parseM3u8(await readFile(path.join(this.options.workDir, state.track.playlist as string), 'utf8'))
      } catch {
        return undefined
      }
    }))
    if (listings.some((listing) => listing === undefined)) return 0

    let added = 0
    await Promise.all(this.tracks.map(async (state, index) => {
      const listing = listings[index]
      if (!listing) return
      const track = state.track
      if (!state.initUploaded) {
        const init = listing.segments[0]?.map?.uri
        if (!init) return
        await this.put(init, path.join(this.options.workDir, init))
        track.init = {file: init, sizeBytes: (await stat(path.join(this.options.workDir, init))).size}
        state.initUploaded = true
      }

      for (const entry of listing.segments.slice(track.segments.length)) {
        const local = path.join(this.options.workDir, entry.uri)
        const info = await stat(local)
        await this.put(entry.uri, local)
        const previous = track.segments.at(-1)
        const segment: PackageSegment = {
          index: track.segments.length,
          file: entry.uri,
          startSeconds: previous ? round(previous.startSeconds + previous.durationSeconds) : 0,
          durationSeconds: round(entry.duration),
          sizeBytes: info.size,
        }
        track.segments.push(segment)
        added += 1
        if (track.type === 'video' && index === 0) this.options.onSegmentPublished?.((Date.now() - info.mtimeMs) / 1000, segment.startSeconds + segment.durationSeconds)
      }
    }))

    if (added === 0 && !ended) return 0
    const ready = this.tracks.filter((state) => state.initUploaded)
    if (ready.length !== this.tracks.length) return added

    for (const state of this.tracks) {
      await this.putText(state.track.playlist as string, buildMediaPlaylist({initFile: state.track.init.file, segments: state.track.segments, windowSeconds: this.options.dvrWindowSeconds, ended}))
    }

    const videoTracks = this.tracks.filter((state) => state.track.type === 'video').map((state) => state.track)
    const audioTrack = this.tracks.find((state) => state.track.type === 'audio')?.track
    await this.putText(HLS_MASTER_FILE, buildMasterPlaylist(videoTracks, audioTrack))
    await this.putText(DASH_MANIFEST_FILE, ended ? mpd : withTimeShiftBuffer(mpd, this.options.dvrWindowSeconds))
    const manifest = this.manifest(ended)
    if (ended) await this.putText(PACKAGE_MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`)
    await upsertVideo(this.options.catalog, {
      id: this.options.videoId,
      title: this.options.title,
      status: ended ? 'ended' : 'live',
      packageLocation: this.location,
      manifest,
    })
    return added
  }

  manifest(ended: boolean): PackageManifest {
    const tracks = this.tracks.map((state) => state.track)
    const videoTracks = tracks.filter((track) => track.type === 'video')
    const audio = tracks.find((track) => track.type === 'audio')
    const files = tracks.flatMap((track) => [track.init, ...track.segments])
    return {
      version: 1,
      createdAt: new Date().toISOString(),
      durationSeconds: round(this.publishedSeconds),
      segmentDurationSeconds: this.options.segmentDurationSeconds,
      formats: ['hls', 'dash'],
      hlsMaster: HLS_MASTER_FILE,
      dashManifest: DASH_MANIFEST_FILE,
      renditions: videoTracks.map((track) => ({...track, segments: [...track.segments]})),
      audio: audio ? {...audio, segments: [...audio.segments]} : undefined,
      totalFiles: files.length + tracks.length + 2 + (ended ? 1 : 0),
      totalBytes: files.reduce((sum, file) => sum + file.sizeBytes, 0),
    }
  }
}

const round = (seconds: number) => Math.round(seconds * 1e6) / 1e6

/** A live MPD with the DVR window players may seek in. */
function withTimeShiftBuffer(mpd: string, windowSeconds: number): string {
  const depth = `timeShiftBufferDepth="PT${windowSeconds}S"`
  return /timeShiftBufferDepth="[^"]*"/.test(mpd) ? mpd.replace(/timeShiftBufferDepth="[^"]*"/, depth) : mpd.replace(/<MPD\b/, `<MPD ${depth}`)
}
