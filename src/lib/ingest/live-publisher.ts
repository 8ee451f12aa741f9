/**
 * Publishes a live package as ffmpeg writes it: each new segment goes to storage as soon as it is
 * complete (ffmpeg lists a segment in its playlist only once written), then the playlists that
 * reference it, never the other way round. While live, HLS media playlists hold a rolling window
 * and the MPD a matching timeShiftBufferDepth; at the end, the whole stream as VOD.
 *
 * It writes nothing to the catalog (the live stream's state machine does) and keeps no hidden
 * state across a failure: a segment counts as published only once storage has it, so after a
 * storage outage the next sync carries on from the first segment storage does not have.
 */
import {readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {cacheControlFor, contentTypeFor} from '../package/media-types.js'
import {ExternalError} from '../errors.js'
import {ensureDir} from '../files.js'
import {fileSystemError} from '../system-errors.js'
import {plannedAvcCodecString} from '../media/codecs.js'
import type {PlannedRendition} from '../media/ladder.js'
import {buildMasterPlaylist} from '../package/hls-master.js'
import {buildMediaPlaylist} from '../package/hls-media.js'
import {withTimeShiftBuffer} from '../package/live-mpd.js'
import {appendSegment, DASH_MANIFEST_FILE, HLS_MASTER_FILE, PACKAGE_MANIFEST_FILE, type PackageManifest, type PackageSegment, type PackageTrack} from '../package/manifest.js'
import {mediaPlaylistName} from '../package/package-args.js'
import {parseM3u8} from '../package/verify.js'
import {withRetries} from '../retry.js'
import {sha256OfFile} from '../storage/checksum.js'
import {joinKey, packageLocation, type Storage} from '../storage/storage.js'
import {LIVE_AUDIO_KBPS} from './live-args.js'

export interface LivePublisherOptions {
  workDir: string
  storage: Storage
  videoId: string
  renditions: readonly PlannedRendition[]
  hasAudio: boolean
  segmentDurationSeconds: number
  dvrWindowSeconds: number
  /** Called when a segment is in storage, with the seconds it took from being written locally. */
  onSegmentPublished?: (lagSeconds: number, segmentEndSeconds: number) => void
}

/** Storage refused or did not answer while publishing (after the retries): the stream may wait for it. */
export class StoragePublishError extends ExternalError {}

/** A live track always has its HLS media playlist (the encoder writes one per track). */
type LiveTrack = PackageTrack & {playlist: string}

interface TrackState {
  track: LiveTrack
  initUploaded: boolean
}

/** The encoder has not written that file yet; any other failure to read it is one. */
/**
 * A read of the encoder's output that the next sync simply tries again: the file is not written
 * yet (ENOENT), or the machine is short of something for a moment (file descriptors, a busy file).
 * Anything else (EACCES, EISDIR...) will not go away by itself and ends the stream.
 */
const TRY_AGAIN_CODES = new Set(['ENOENT', 'EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR'])
const notReadableYet = (error: unknown) => TRY_AGAIN_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? '')

export class LivePublisher {
  private readonly tracks: TrackState[]
  private readonly location: string
  private readonly scratch: string
  private announced = false
  /** The encoder's output as of the last complete sync (see outputSignature). */
  private lastSynced: string | undefined

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
    this.location = packageLocation(options.storage, options.videoId)
    this.scratch = path.join(options.workDir, '.publish')
  }

  /** The master playlist of the stream (the low-latency origin serves the same one). */
  masterPlaylist(): string {
    const videoTracks = this.tracks.filter((state) => state.track.type === 'video').map((state) => state.track)
    const audioTrack = this.tracks.find((state) => state.track.type === 'audio')?.track
    return buildMasterPlaylist(videoTracks, audioTrack)
  }

  /** Media playlist names, in track order (video rungs, then the audio). */
  get playlists(): string[] {
    return this.tracks.map((state) => state.track.playlist)
  }

  /** Whether a player can start: the playlists, the master and the MPD are in storage. */
  get playable(): boolean {
    return this.announced
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
    try {
      await withRetries(
        () => this.options.storage.putFile(joinKey(this.options.videoId, file), localPath, {contentType: contentTypeFor(file), cacheControl: cacheControlFor(file), sha256, sizeBytes: size}),
        {attempts: 5, baseMs: 100, maxMs: 2000},
      )
    } catch (error) {
      throw new StoragePublishError(`Could not publish ${file} to ${this.options.storage.uri}: ${(error as Error).message}`, {cause: error, retryable: true})
    }
  }

  private async putText(file: string, text: string): Promise<void> {
    await ensureDir(this.scratch)
    const local = path.join(this.scratch, file)
    try {
      await writeFile(local, text)
    } catch (error) {
      throw fileSystemError(error, local, 'write')
    }

    await this.put(file, local)
  }

  /** Uploads what ffmpeg has completed since the last call, then the playlists. Returns the number of new segments. */
  async sync(ended: boolean): Promise<number> {
    // ffmpeg rewrites its playlists and MPD once per segment; the stream is polled far more often.
    // Reading and parsing them costs time and memory in proportion to the stream's length so far,
    // so an unchanged set (same size and modification time, to the nanosecond) is not read again.
    const signature = await this.outputSignature()
    if (!ended && signature !== undefined && signature === this.lastSynced) return 0
    // The MPD first: every segment it lists is also in the HLS playlists read after it.
    const mpd = await this.readOutput(DASH_MANIFEST_FILE)
    if (mpd === undefined) return 0
    const listings = await Promise.all(this.tracks.map(async (state) => {
      const playlist = await this.readOutput(state.track.playlist)
      return playlist === undefined ? undefined : parseM3u8(playlist)
    }))
    if (listings.some((listing) => listing === undefined)) return 0

    let added = 0
    // Every track runs to its end or its first failure before sync answers: none may still be
    // uploading in the background when the next sync starts.
    const results = await Promise.allSettled(this.tracks.map(async (state, index) => {
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
        const segment = appendSegment(track.segments, entry.uri, entry.duration, info.size)
        added += 1
        if (track.type === 'video' && index === 0) this.options.onSegmentPublished?.((Date.now() - info.mtimeMs) / 1000, segment.startSeconds + segment.durationSeconds)
      }
    }))
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')
    if (failed) throw failed.reason

    if (added === 0 && !ended) {
      this.lastSynced = signature
      return 0
    }

    const ready = this.tracks.filter((state) => state.initUploaded)
    if (ready.length !== this.tracks.length) {
      // The tracks still waiting for their first segment change the signature when it comes.
      this.lastSynced = signature
      return added
    }

    for (const state of this.tracks) {
      await this.putText(state.track.playlist, buildMediaPlaylist({initFile: state.track.init.file, segments: state.track.segments, windowSeconds: this.options.dvrWindowSeconds, ended}))
    }

    await this.putText(HLS_MASTER_FILE, this.masterPlaylist())
    await this.putText(DASH_MANIFEST_FILE, ended ? mpd : withTimeShiftBuffer(mpd, this.options.dvrWindowSeconds))
    this.announced = true
    if (ended) await this.putText(PACKAGE_MANIFEST_FILE, `${JSON.stringify(this.manifest(true), null, 2)}\n`)
    // Only a sync that got everything into storage counts: after a failure the next one reads again.
    this.lastSynced = signature
    return added
  }

  /** Size and modification time of the encoder's MPD and playlists, or undefined when one is not written yet. */
  private async outputSignature(): Promise<string | undefined> {
    const files = [DASH_MANIFEST_FILE, ...this.tracks.map((state) => state.track.playlist)]
    const local = files.map((file) => path.join(this.options.workDir, file))
    try {
      const stats = await Promise.all(local.map((file) => stat(file, {bigint: true})))
      return stats.map((info) => `${info.size}:${info.mtimeNs}`).join(',')
    } catch (error) {
      if (notReadableYet(error)) return undefined
      throw fileSystemError(error, (error as NodeJS.ErrnoException).path ?? this.options.workDir, 'read')
    }
  }

  /** A text file of the encoder's output, or undefined when it is not written yet. */
  private async readOutput(file: string): Promise<string | undefined> {
    const local = path.join(this.options.workDir, file)
    try {
      return await readFile(local, 'utf8')
    } catch (error) {
      if (notReadableYet(error)) return undefined
      throw fileSystemError(error, local, 'read')
    }
  }

  /**
   * The encoder's whole output in the work folder as a livectl package (playlists ended, the
   * master, livectl-package.json beside ffmpeg's MPD), so a stream whose storage went away can be
   * published later with `livectl publish`. Returns the folder, or undefined when nothing is complete.
   */
  async keepLocally(): Promise<string | undefined> {
    const dir = this.options.workDir
    const tracks: LiveTrack[] = []
    for (const state of this.tracks) {
      const playlist = await this.readOutput(state.track.playlist)
      if (playlist === undefined) return undefined
      const listing = parseM3u8(playlist)
      const init = listing.segments[0]?.map?.uri
      if (!init) return undefined
      const segments: PackageSegment[] = []
      for (const entry of listing.segments) appendSegment(segments, entry.uri, entry.duration, (await stat(path.join(dir, entry.uri))).size)

      tracks.push({...state.track, init: {file: init, sizeBytes: (await stat(path.join(dir, init))).size}, segments})
    }

    for (const track of tracks) await writeFile(path.join(dir, track.playlist), buildMediaPlaylist({initFile: track.init.file, segments: track.segments, windowSeconds: this.options.dvrWindowSeconds, ended: true}))
    const video = tracks.filter((track) => track.type === 'video')
    const audio = tracks.find((track) => track.type === 'audio')
    await writeFile(path.join(dir, HLS_MASTER_FILE), buildMasterPlaylist(video, audio))
    await writeFile(path.join(dir, PACKAGE_MANIFEST_FILE), `${JSON.stringify(this.packageOf(tracks, true), null, 2)}\n`)
    return dir
  }

  manifest(ended: boolean): PackageManifest {
    return this.packageOf(this.tracks.map((state) => state.track), ended)
  }

  private packageOf(tracks: readonly PackageTrack[], ended: boolean): PackageManifest {
    const videoTracks = tracks.filter((track) => track.type === 'video')
    const audio = tracks.find((track) => track.type === 'audio')
    const files = tracks.flatMap((track) => [track.init, ...track.segments])
    const last = videoTracks[0]?.segments.at(-1)
    return {
      version: 1,
      createdAt: new Date().toISOString(),
      durationSeconds: round(last ? last.startSeconds + last.durationSeconds : 0),
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
