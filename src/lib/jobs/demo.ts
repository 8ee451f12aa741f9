/**
 * The main job on embedded defaults: generate a short test clip, transcode it to the ladder, and
 * package it as HLS + DASH, all under the data directory.
 */
import path from 'node:path'

import {buildVodJobSpec} from './job-spec.js'
import {runVodJob} from './vod-job.js'
import {jobDir} from './vod-job-state.js'
import {validatePreset} from '../media/encoder-settings.js'
import {generateTestClip} from '../media/test-clip.js'
import type {TranscodeProgress} from '../media/transcode-options.js'
import {readPackageManifest} from '../package/manifest.js'

export type DemoStage = 'generate' | 'transcode' | 'segment' | 'publish'

export interface DemoOptions {
  dataDir: string
  /** The catalog the demo is registered in (--db / LIVECTL_DB); default SQLite in the data directory. */
  db?: string
  durationSeconds: number
  width: number
  height: number
  preset: string
  segmentDurationSeconds: number
  signal?: AbortSignal
  onProgress?: (stage: DemoStage, progress: TranscodeProgress) => void
}

export interface DemoResult {
  sourceFile: string
  renditionsDir: string
  packageDir: string
  /** Where the package was published, and the catalog id `livectl serve` answers for. */
  publishedTo: string
  videoId: string
  hlsMaster: string
  dashManifest: string
  renditions: Array<{name: string; width: number; height: number}>
  durationSeconds: number
  segmentCount: number
  totalBytes: number
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const sourceFile = path.join(options.dataDir, 'demo', 'source.mp4')

  options.onProgress?.('generate', {})
  await generateTestClip({
    output: sourceFile,
    width: options.width,
    height: options.height,
    durationSeconds: options.durationSeconds,
    audio: 'stereo',
    signal: options.signal,
  })

  // The same VOD job as `livectl run` and the queue worker; the demo keeps its intermediate files to look at.
  const job = await runVodJob(
    buildVodJobSpec({
      input: sourceFile,
      videoId: 'demo',
      title: 'livectl demo clip',
      to: path.join(options.dataDir, 'media'),
      segmentDurationSeconds: options.segmentDurationSeconds,
      preset: validatePreset(options.preset),
    }),
    {
      dataDir: options.dataDir,
      db: options.db,
      signal: options.signal,
      cleanUp: false,
      onProgress: (progress) => {
        if (progress.stage !== 'fetch') options.onProgress?.(progress.stage, {fraction: progress.stageFraction, speed: progress.speed})
      },
    },
  )

  const dir = jobDir(options.dataDir, 'demo')
  const renditionsDir = path.join(dir, 'renditions')
  const packageDir = path.join(dir, 'package')
  const pkg = await readPackageManifest(packageDir)
  return {
    sourceFile,
    renditionsDir,
    packageDir,
    publishedTo: job.location,
    videoId: job.videoId,
    hlsMaster: path.join(packageDir, pkg.hlsMaster ?? 'master.m3u8'),
    dashManifest: path.join(packageDir, pkg.dashManifest ?? 'manifest.mpd'),
    renditions: pkg.renditions.map(({name, width = 0, height = 0}) => ({name, width, height})),
    durationSeconds: pkg.durationSeconds,
    segmentCount: [...pkg.renditions, ...(pkg.audio ? [pkg.audio] : [])].reduce((sum, track) => sum + track.segments.length, 0),
    totalBytes: pkg.totalBytes,
  }
}
