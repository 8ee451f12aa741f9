/**
 * The main job on embedded defaults: generate a short test clip, transcode it to the ladder, and
 * package it as HLS + DASH, all under the data directory.
 */
import path from 'node:path'

import {DEFAULT_LADDER, standardLadder} from './media/ladder.js'
import {generateTestClip} from './media/test-clip.js'
import {type TranscodeProgress, transcodeLadder} from './media/transcode.js'
import type {PackageManifest} from './package/manifest.js'
import {segmentPackage} from './package/segment.js'
import {publishPackage} from './publish/publish.js'

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
  const renditionsDir = path.join(options.dataDir, 'renditions', 'demo')
  const packageDir = path.join(options.dataDir, 'packages', 'demo')

  options.onProgress?.('generate', {})
  await generateTestClip({
    output: sourceFile,
    width: options.width,
    height: options.height,
    durationSeconds: options.durationSeconds,
    audio: 'stereo',
    signal: options.signal,
  })

  await transcodeLadder({
    input: sourceFile,
    outputDir: renditionsDir,
    rungs: standardLadder(DEFAULT_LADDER),
    segmentDurationSeconds: options.segmentDurationSeconds,
    preset: options.preset,
    signal: options.signal,
    onProgress: (progress) => options.onProgress?.('transcode', progress),
  })

  const pkg = (await segmentPackage({
    inputDir: renditionsDir,
    outputDir: packageDir,
    formats: ['hls', 'dash'],
    signal: options.signal,
    onProgress: (progress) => options.onProgress?.('segment', progress),
  })) as PackageManifest

  options.onProgress?.('publish', {})
  const published = await publishPackage({
    packageDir,
    to: path.join(options.dataDir, 'media'),
    videoId: 'demo',
    title: 'livectl demo clip',
    dataDir: options.dataDir,
    db: options.db,
    signal: options.signal,
  })

  return {
    sourceFile,
    renditionsDir,
    packageDir,
    publishedTo: published.location,
    videoId: published.videoId,
    hlsMaster: path.join(packageDir, pkg.hlsMaster ?? 'master.m3u8'),
    dashManifest: path.join(packageDir, pkg.dashManifest ?? 'manifest.mpd'),
    renditions: pkg.renditions.map(({name, width = 0, height = 0}) => ({name, width, height})),
    durationSeconds: pkg.durationSeconds,
    segmentCount: [...pkg.renditions, ...(pkg.audio ? [pkg.audio] : [])].reduce((sum, track) => sum + track.segments.length, 0),
    totalBytes: pkg.totalBytes,
  }
}
