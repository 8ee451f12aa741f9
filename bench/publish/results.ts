/**
 * What bench/publish records: its options, what each contender prints, each measured run, the
 * diagnostics pass, and the report they make (also written to .bench-work/publish/last-run.json).
 */
import type {MachineFacts} from '../support/report.js'
import type {Summary} from '../support/stats.js'
import type {BenchPackage} from './inputs.js'
import type {MotoRun} from './moto.js'

/** The target of a no-change re-run, as a share of the first publish. */
export const RERUN_FRACTION_MAX = 0.1

/** The rows of each package; measurement ids are `${package id}-${suffix}`. */
export const PACKAGE_ROWS = [
  {suffix: 'livectl', name: '`livectl publish`, first publish'},
  {suffix: 'ceiling', name: 'ceiling: plain PutObject loop'},
  {suffix: 'rerun', name: '`livectl publish`, no-change re-run', rerun: true},
]

export interface RowStats {
  runs: number
  wall: Summary
  peakRss: Summary
  motoCpuShare: number
  machineBusy: number
  contenderCpuShare: number
  otherCpuShare: number
  motoPeakRss: number
  outputs: Measurement['output'][]
}

export interface PublishOptions {
  runs: number
  concurrency: number
  packages: string[]
  allPackages: boolean
  skipBig: boolean
  keep: boolean
}

/** What `livectl publish --json` prints (the fields read here). */
export interface PublishOutput {
  uploaded: number
  skipped: number
  seconds: number
}

/** What bench/publish/ceiling.mjs prints. */
export interface CeilingOutput {
  files: number
  bytes: number
  seconds: number
}

/** What bench/publish/file.mjs prints. */
export interface BigOutput {
  action: string
  sizeBytes: number
  listSeconds: number
  restSeconds: number
  seconds: number
}

/** What bench/publish/steps.mjs prints. */
export interface StepsOutput {
  importSeconds: number
  files: number
  bytes: number
  cacheHits: number
  steps: Array<{id: string; seconds: number; detail: string}>
}

export interface Measurement extends MotoRun<PublishOutput | CeilingOutput | BigOutput> {
  round: number
  id: string
  motoPeakRssMb: number
}

export interface Diagnosis {
  stepsPackage: string
  stepsCommand?: string
  steps?: StepsOutput
  bufferedCeiling?: MotoRun<CeilingOutput> & {motoPeakRssMb: number; command: string}
}

export interface PublishReport {
  options: PublishOptions
  startedAt: Date
  loadAtStart: string
  loadAtEnd: string
  busyAtStart: number
  busyAtEnd?: number
  machine: MachineFacts
  motoVersion?: string
  motoCommand: string
  packages: BenchPackage[]
  bigBytes: number
  bigFile: string
  partBytes: number
  partQueue: number
  measurements: Measurement[]
  diagnosis?: Diagnosis
  diagnosisError?: string
  commands: {
    packages: Array<{id: string; livectl: string; ceiling: string}>
    bigLivectl: string
    bigCeiling: string
  }
}
