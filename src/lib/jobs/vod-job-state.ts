/**
 * What a VOD job keeps between runs, in DATA/jobs/ID: state.json (what it was made from, the
 * stages done, the result) beside the stages' work files. A stage counts as done only while its
 * output is still there, so a re-run continues from the first unfinished stage.
 */
import path from 'node:path'

import type {FromSchema} from 'json-schema-to-ts'

import {assertValidId} from '../catalog/ids.js'
import {exists, readJsonFile} from '../files.js'
import {compileJsonCheck} from '../json-check.js'
import {UserError} from '../errors.js'
import {RENDITIONS_FILE} from '../media/renditions.js'
import {PACKAGE_MANIFEST_FILE} from '../package/manifest.js'
import {isStorageUri} from '../storage/open.js'
import type {VodJobSpec} from './job-spec.js'

export const VOD_STAGES = ['fetch', 'transcode', 'segment', 'publish'] as const
export type VodStage = (typeof VOD_STAGES)[number]

/** A job's result, as state.json keeps it and as the queue returns it. */
export const vodJobResultSchema = {
  type: 'object',
  properties: {
    videoId: {type: 'string'},
    outcome: {type: 'string', enum: ['published', 'skipped']},
    location: {type: 'string'},
    durationSeconds: {type: 'number'},
    renditions: {type: 'array', items: {type: 'string'}},
    ran: {type: 'array', items: {type: 'string', enum: VOD_STAGES}},
    seconds: {type: 'number'},
  },
  required: ['videoId', 'outcome', 'location', 'durationSeconds', 'renditions', 'ran', 'seconds'],
} as const

const stateSchema = {
  type: 'object',
  properties: {
    version: {const: 1},
    fingerprint: {type: 'string'},
    done: {type: 'object', properties: {fetch: {const: true}, transcode: {const: true}, segment: {const: true}, publish: {const: true}}, additionalProperties: false},
    result: vodJobResultSchema,
  },
  required: ['version', 'fingerprint', 'done'],
} as const

const stateCheck = compileJsonCheck(stateSchema)

export interface VodJobResult {
  videoId: string
  /** published: this run published it; skipped: it was published before from the same input and settings. */
  outcome: 'published' | 'skipped'
  location: string
  durationSeconds: number
  renditions: string[]
  /** The stages this run did (a resumed job does fewer). */
  ran: VodStage[]
  seconds: number
}

export interface JobState {
  version: 1
  /** What the job was made from: when it changes, the job starts over. */
  fingerprint: string
  done: Partial<Record<VodStage, true>>
  result?: VodJobResult
}

export function jobDir(dataDir: string, videoId: string): string {
  return path.join(path.resolve(dataDir), 'jobs', assertValidId(videoId))
}

export function stateFileOf(dir: string): string {
  return path.join(dir, 'state.json')
}

/** The job's work files, each a stage's output: the fetched input (storage inputs), the renditions, the package. */
export interface JobFiles {
  inputFile: string
  renditionsDir: string
  packageDir: string
  /** What the transcode reads: the fetched copy of a stored input, else the input itself. */
  source: string
}

export function jobFiles(spec: Pick<VodJobSpec, 'input'>, dir: string): JobFiles {
  const inputFile = path.join(dir, `input${path.extname(spec.input.split('?')[0] ?? '') || '.bin'}`)
  return {
    inputFile,
    renditionsDir: path.join(dir, 'renditions'),
    packageDir: path.join(dir, 'package'),
    source: isStorageUri(spec.input) ? inputFile : spec.input,
  }
}

/**
 * What identifies the input and the settings: when it changes, nothing done before counts. (The
 * form is the one earlier versions wrote, so their jobs still resume.)
 */
export function fingerprintOf(spec: VodJobSpec, source: unknown): string {
  const deinterlace = spec.deinterlace === 'auto' ? {} : {deinterlace: spec.deinterlace}
  return JSON.stringify({source, to: spec.to, ladder: spec.ladder, segment: spec.segmentDurationSeconds, preset: spec.preset, rate: spec.rateControl, ...deinterlace, formats: spec.formats, chunk: spec.chunkSeconds})
}

/** The recorded state, or undefined when there is none or it cannot be used (a damaged file only costs a redo). */
export async function readState(file: string): Promise<JobState | undefined> {
  if (!(await exists(file))) return undefined
  try {
    const data = await readJsonFile(file, new UserError(`Missing ${file}`))
    // Checked against stateSchema, the type's source.
    return stateCheck.matches(data) ? (data as FromSchema<typeof stateSchema>) : undefined
  } catch {
    return undefined
  }
}

export function allStages(spec: Pick<VodJobSpec, 'input'>): VodStage[] {
  return VOD_STAGES.filter((stage) => stage !== 'fetch' || isStorageUri(spec.input))
}

/** The stages a run does, given what is recorded done: a stage counts as done only while its output is still there. */
export async function pendingStages(spec: Pick<VodJobSpec, 'input'>, dir: string, done: JobState['done']): Promise<VodStage[]> {
  const {inputFile, renditionsDir, packageDir} = jobFiles(spec, dir)
  const transcoded = Boolean(done.transcode) && (await exists(path.join(renditionsDir, RENDITIONS_FILE)))
  const fetched = Boolean(done.fetch) && (await exists(inputFile))
  const segmented = Boolean(done.segment) && (await exists(path.join(packageDir, PACKAGE_MANIFEST_FILE)))
  const skip: Partial<Record<VodStage, boolean>> = {fetch: transcoded || fetched, transcode: transcoded, segment: segmented}
  return allStages(spec).filter((stage) => !skip[stage])
}
