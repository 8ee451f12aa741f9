/**
 * The commands of bench/publish's contenders: livectl publish, its per-file path on one big file
 * (file.mjs), and the plain AWS SDK ceilings (ceiling.mjs).
 */
import process from 'node:process'

import type {Command} from '../support/spawn.js'
import {BIG_FILE, type BenchPackage} from './inputs.js'
import {BUCKET} from './moto.js'
import type {PublishOptions} from './results.js'

/** The same as livectl's S3 backend (src/lib/storage/s3-config.ts): checked against it at start. */
export const PART_BYTES = 8 * 1024 * 1024
export const PART_QUEUE = 4

/** The commands of every contender; the package, ENDPOINT and DATA_DIR are filled in per run. */
export interface ContenderCommands {
  livectl(pkg: BenchPackage, endpoint: string, dataDir: string): Command
  ceiling(pkg: BenchPackage, endpoint: string): Command
  bigLivectl(endpoint: string, dataDir: string): Command
  bigCeiling(endpoint: string, highWaterMark?: number): Command
}

export function contenderCommands(options: PublishOptions): ContenderCommands {
  const concurrency = String(options.concurrency)
  return {
    livectl: (pkg, endpoint, dataDir) => ({file: process.execPath, args: [
      'bin/run.js', 'publish', pkg.dir, '--to', `s3://${BUCKET}/livectl`, '--s3-endpoint', endpoint, '--video-id', pkg.videoId,
      '--data-dir', dataDir, '--concurrency', concurrency, '--json',
    ]}),
    ceiling: (pkg, endpoint) => ({file: process.execPath, args: [
      'bench/publish/ceiling.mjs', 'files', '--dir', pkg.dir, '--to', `s3://${BUCKET}/ceiling/${pkg.videoId}`, '--endpoint', endpoint, '--concurrency', concurrency,
    ]}),
    bigLivectl: (endpoint, dataDir) => ({file: process.execPath, args: [
      'bench/publish/file.mjs', '--file', BIG_FILE, '--to', `s3://${BUCKET}/livectl`, '--key', 'big/random-1gib.bin', '--s3-endpoint', endpoint, '--data-dir', dataDir,
    ]}),
    bigCeiling: (endpoint, highWaterMark) => ({file: process.execPath, args: [
      'bench/publish/ceiling.mjs', 'multipart', '--file', BIG_FILE, '--to', `s3://${BUCKET}/ceiling/big/random-1gib.bin`, '--endpoint', endpoint,
      '--part-bytes', String(PART_BYTES), '--queue', String(PART_QUEUE), ...(highWaterMark ? ['--high-water-mark', String(highWaterMark)] : []),
    ]}),
  }
}
