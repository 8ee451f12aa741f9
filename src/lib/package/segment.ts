/**
 * `segmentPackage`: a transcode output into one set of CMAF segments with an HLS master and a
 * DASH MPD, without re-encoding. Checked before (keyframe alignment) and after (parsers, files),
 * written to a staging directory and moved into place only when sound.
 */
import {readFile, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {UserError} from '../errors.js'
import {assertReplaceableDir, commitStagingDir, createStagingDir, removeQuietly, writeJsonAtomic} from '../files.js'
import {peakBitsPerSecond} from '../media/bitrate.js'
import {avcCodecString} from '../media/codecs.js'
import {probeSource} from '../media/probe.js'
import {mediaTools} from '../media/tools.js'
import {createProgressParser, progressFraction} from '../media/progress.js'
import {type Rendition, type RenditionsManifest, readRenditionsManifest} from '../media/renditions.js'
import type {TranscodeProgress} from '../media/transcode-options.js'
import {runProcess} from '../process.js'
import {checkAudioRenditionFile} from './audio-only.js'
import {buildMasterPlaylist} from './hls-master.js'
import {buildKeyframeProbeArgs, findKeyframeMisalignment, type KeyframeTrack, parsePacketLine} from './keyframes.js'
import {
  DASH_MANIFEST_FILE,
  HLS_MASTER_FILE,
  PACKAGE_MANIFEST_FILE,
  type PackageFormat,
  type PackageManifest,
  type PackageSegment,
  type PackageTrack,
} from './manifest.js'
import {setMpdBandwidths} from './mpd-bandwidth.js'
import {buildPackageArgs, mediaPlaylistName} from './package-args.js'
import {parseM3u8, verifyPackage} from './verify.js'

export interface SegmentOptions {
  /** A `transcode` output directory (holds renditions.json). */
  inputDir: string
  outputDir: string
  formats: readonly PackageFormat[]
  /** Defaults to the GOP the renditions were encoded with; must be a multiple of it. */
  segmentDurationSeconds?: number
  dryRun?: boolean
  signal?: AbortSignal
  onProgress?: (progress: TranscodeProgress) => void
}

export interface SegmentDryRun {
  dryRun: true
  outputDir: string
  formats: PackageFormat[]
  segmentDurationSeconds: number
  command: string[]
}

async function readKeyframes(ffprobe: string, file: string, signal?: AbortSignal): Promise<{keyframes: number[]; lastFrameSeconds: number}> {
  const keyframes: number[] = []
  let lastFrameSeconds = 0
  await runProcess(ffprobe, buildKeyframeProbeArgs(file), {
    signal,
    onStdoutLine: (line) => {
      const packet = parsePacketLine(line)
      if (!packet) return
      lastFrameSeconds = Math.max(lastFrameSeconds, packet.seconds)
      if (packet.keyframe) keyframes.push(packet.seconds)
    },
  })
  return {keyframes: keyframes.sort((a, b) => a - b), lastFrameSeconds}
}

/**
 * renditions.json must describe the files beside it: a hand-edited or stale one would put
 * numbers in the master playlist that contradict the MPD (and the media). Each file is there,
 * of the size written down, readable, and holds the picture, codec and audio it claims.
 */
async function checkRenditionFiles(inputDir: string, source: RenditionsManifest, renditions: readonly Rendition[], signal?: AbortSignal): Promise<void> {
  const hint = 'renditions.json does not describe these files: re-run `livectl transcode` for this directory (never edit renditions.json by hand).'
  for (const rendition of renditions) {
    const file = path.join(inputDir, rendition.file)
    let sizeBytes: number
    try {
      sizeBytes = (await stat(file)).size
    } catch {
      throw new UserError(`Rendition file missing: ${file}`, {hint: 'Re-run transcode for this directory.'})
    }

    const disagreements: string[] = []
    if (sizeBytes !== rendition.sizeBytes) disagreements.push(`${rendition.sizeBytes} bytes written down, ${sizeBytes} on disk`)
    let facts
    try {
      facts = await probeSource(file, {signal})
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      throw new UserError(`Rendition ${rendition.name} (${file}) is not a readable video: ${error.message}`, {cause: error, hint: 'The file is damaged: re-run `livectl transcode` for this directory.'})
    }

    if (facts.video.width !== rendition.width || facts.video.height !== rendition.height) disagreements.push(`${rendition.width}x${rendition.height} written down, ${facts.video.width}x${facts.video.height} in the file`)
    const videoCodec = avcCodecString(facts.video.profile, facts.video.level)
    if (videoCodec !== rendition.videoCodec) disagreements.push(`codec ${rendition.videoCodec} written down, ${videoCodec} in the file`)
    if (source.hasAudio && !facts.audio) disagreements.push('audio written down, none in the file')
    if (!source.hasAudio && facts.audio) disagreements.push('no audio written down, audio in the file')
    if (disagreements.length > 0) throw new UserError(`Rendition ${rendition.name} (${file}) does not match renditions.json: ${disagreements.join('; ')}`, {hint})
  }
}

/** The rendition whose audio is packaged: the highest audio bitrate, tallest on a tie. */
function pickAudioSource(renditions: readonly Rendition[]): number {
  let best = 0
  renditions.forEach((rendition, index) => {
    if ((rendition.audioBitrateKbps ?? 0) > (renditions[best]?.audioBitrateKbps ?? 0)) best = index
  })
  return best
}

export async function segmentPackage(options: SegmentOptions & {dryRun: true}): Promise<SegmentDryRun>
export async function segmentPackage(options: SegmentOptions): Promise<PackageManifest | SegmentDryRun>
export async function segmentPackage(options: SegmentOptions): Promise<PackageManifest | SegmentDryRun> {
  const inputDir = path.resolve(options.inputDir)
  const outputDir = path.resolve(options.outputDir)
  if (outputDir === inputDir) throw new UserError('The package directory must differ from the renditions directory')
  const formats = [...options.formats]
  const source = await readRenditionsManifest(inputDir)
  const segmentDurationSeconds = options.segmentDurationSeconds ?? source.segmentDurationSeconds
  if (!(segmentDurationSeconds > 0)) throw new UserError(`Segment duration must be positive (got ${segmentDurationSeconds})`)

  const renditions = [...source.renditions].sort((a, b) => b.height * b.width - a.height * a.width)
  // An audio-only source: no video renditions (so no keyframes to align), its one AAC file packaged alone.
  const audioOnly = source.hasVideo === false ? source.audioRendition : undefined
  const inputs = audioOnly ? [path.join(inputDir, audioOnly.file)] : renditions.map((rendition) => path.join(inputDir, rendition.file))
  await checkRenditionFiles(inputDir, source, renditions, options.signal)
  if (audioOnly) await checkAudioRenditionFile(inputDir, audioOnly, options.signal)

  const audioInput = audioOnly ? 0 : source.hasAudio ? pickAudioSource(renditions) : undefined
  const {ffmpeg, ffprobe} = await mediaTools()
  const argsFor = (dir: string) =>
    buildPackageArgs({inputs, audioInput, ...(audioOnly ? {audioOnly: true} : {}), segmentDurationSeconds, manifestPath: path.join(dir, DASH_MANIFEST_FILE)})

  if (options.dryRun) {
    return {dryRun: true, outputDir, formats, segmentDurationSeconds, command: [ffmpeg, ...argsFor(outputDir)]}
  }

  await checkKeyframes(ffprobe, renditions, inputs, segmentDurationSeconds, options.signal)
  await assertReplaceableDir(outputDir, PACKAGE_MANIFEST_FILE)
  const staging = await createStagingDir(outputDir)
  try {
    const duration = Math.max(audioOnly?.durationSeconds ?? 0, ...renditions.map((rendition) => rendition.durationSeconds))
    await runProcess(ffmpeg, argsFor(staging), {
      signal: options.signal,
      onStdoutLine: createProgressParser((progress) =>
        options.onProgress?.({fraction: progressFraction(progress, duration), speed: progress.speed, outTimeSeconds: progress.outTimeSeconds}),
      ),
    })

    const manifest = await describePackage(staging, source, renditions, audioInput !== undefined, formats, segmentDurationSeconds)
    await arrangeFormats(staging, manifest)
    await verifyPackage(staging, manifest)
    await writeJsonAtomic(path.join(staging, PACKAGE_MANIFEST_FILE), manifest)
    await commitStagingDir(staging, outputDir)
    return manifest
  } catch (error) {
    await removeQuietly(staging)
    throw error
  }
}

async function checkKeyframes(
  ffprobe: string,
  renditions: readonly Rendition[],
  inputs: readonly string[],
  segmentDurationSeconds: number,
  signal?: AbortSignal,
): Promise<void> {
  const tracks: KeyframeTrack[] = []
  for (const [index, rendition] of renditions.entries()) {
    tracks.push({name: rendition.name, frameRate: rendition.frameRate, ...(await readKeyframes(ffprobe, inputs[index] as string, signal))})
  }

  const problem = findKeyframeMisalignment(tracks, segmentDurationSeconds)
  if (problem) {
    throw new UserError(`Renditions' keyframes are not aligned at ${segmentDurationSeconds} s segment boundaries: ${problem}`, {
      hint: `Re-encode with \`livectl transcode --segment-duration ${segmentDurationSeconds}\`, or segment with a multiple of the duration the renditions were made with.`,
    })
  }
}

async function describeTrack(
  dir: string,
  id: number,
  segmentDurationSeconds: number,
  base: Omit<PackageTrack, 'id' | 'bandwidth' | 'averageBandwidth' | 'playlist' | 'init' | 'segments'>,
): Promise<PackageTrack> {
  const playlist = mediaPlaylistName(id)
  const media = parseM3u8(await readFile(path.join(dir, playlist), 'utf8'))
  const initFile = media.segments[0]?.map?.uri ?? `init-${id}.m4s`
  let startSeconds = 0
  const segments: PackageSegment[] = []
  for (const [index, segment] of media.segments.entries()) {
    const {size} = await stat(path.join(dir, segment.uri))
    segments.push({index, file: segment.uri, startSeconds: round(startSeconds), durationSeconds: round(segment.duration), sizeBytes: size})
    startSeconds += segment.duration
  }

  const totalBits = segments.reduce((sum, segment) => sum + segment.sizeBytes * 8, 0)
  const totalSeconds = segments.reduce((sum, segment) => sum + segment.durationSeconds, 0)
  return {
    ...base,
    id: String(id),
    bandwidth: Math.ceil(peakBitsPerSecond(segments, segmentDurationSeconds)),
    averageBandwidth: Math.ceil(totalBits / Math.max(totalSeconds, 0.001)),
    playlist,
    init: {file: initFile, sizeBytes: (await stat(path.join(dir, initFile))).size},
    segments,
  }
}

const round = (seconds: number) => Math.round(seconds * 1e6) / 1e6

async function describePackage(
  dir: string,
  source: RenditionsManifest,
  renditions: readonly Rendition[],
  hasAudio: boolean,
  formats: readonly PackageFormat[],
  segmentDurationSeconds: number,
): Promise<PackageManifest> {
  const videoTracks: PackageTrack[] = []
  for (const [id, rendition] of renditions.entries()) {
    videoTracks.push(
      await describeTrack(dir, id, segmentDurationSeconds, {
        name: rendition.name,
        type: 'video',
        codecs: rendition.videoCodec,
        width: rendition.width,
        height: rendition.height,
        frameRate: rendition.frameRate,
      }),
    )
  }

  const audio = hasAudio
    ? await describeTrack(dir, renditions.length, segmentDurationSeconds, {name: 'audio', type: 'audio', codecs: source.renditions[0]?.audioCodec ?? source.audioRendition?.codecs ?? 'mp4a.40.2', channels: 2, sampleRate: 48_000})
    : undefined
  const tracks = [...videoTracks, ...(audio ? [audio] : [])]
  const durationSeconds = round(Math.max(...tracks.map((track) => track.segments.reduce((sum, segment) => sum + segment.durationSeconds, 0))))
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    durationSeconds,
    segmentDurationSeconds,
    formats: [...formats],
    hlsMaster: formats.includes('hls') ? HLS_MASTER_FILE : undefined,
    dashManifest: formats.includes('dash') ? DASH_MANIFEST_FILE : undefined,
    renditions: videoTracks,
    audio,
    totalFiles: 0,
    totalBytes: 0,
  }
}

/** Writes the HLS master (or removes the HLS playlists), removes the MPD if not asked for, and totals the files. */
async function arrangeFormats(dir: string, manifest: PackageManifest): Promise<void> {
  const tracks = [...manifest.renditions, ...(manifest.audio ? [manifest.audio] : [])]
  await rm(path.join(dir, 'ffmpeg-master.m3u8'), {force: true})
  if (manifest.hlsMaster) {
    await writeFile(path.join(dir, manifest.hlsMaster), buildMasterPlaylist(manifest.renditions, manifest.audio))
  } else {
    for (const track of tracks) {
      if (track.playlist) await rm(path.join(dir, track.playlist), {force: true})
      delete track.playlist
    }
  }

  if (manifest.dashManifest) {
    const mpdFile = path.join(dir, manifest.dashManifest)
    const mpd = await readFile(mpdFile, 'utf8')
    await writeFile(mpdFile, setMpdBandwidths(mpd, new Map(tracks.map((track) => [String(track.id), track.bandwidth]))))
  } else {
    await rm(path.join(dir, DASH_MANIFEST_FILE), {force: true})
  }

  const files = [
    ...tracks.flatMap((track) => [track.init.sizeBytes, ...track.segments.map((segment) => segment.sizeBytes)]),
  ]
  let manifestBytes = 0
  const manifests = [manifest.hlsMaster, manifest.dashManifest, ...tracks.map((track) => track.playlist)].filter((file): file is string => Boolean(file))
  for (const file of manifests) manifestBytes += (await stat(path.join(dir, file))).size
  manifest.totalFiles = files.length + manifests.length
  manifest.totalBytes = files.reduce((sum, size) => sum + size, 0) + manifestBytes
}
