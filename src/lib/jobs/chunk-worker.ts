/**
 * The chunk worker: every `livectl worker` also takes chunks off the chunk queue (put there by
 * chunk-fanout.ts) and encodes them, from a path every worker sees or, for a shared chunk, from
 * the input in storage, returning the outputs there (chunk-transfer.ts).
 */
import {type Job, UnrecoverableError, Worker} from 'bullmq'

import {UserError} from '../errors.js'
import {compileJsonCheck} from '../json-check.js'
import {buildChunkArgs, type ChunkTask} from '../media/chunks.js'
import {mediaTools} from '../media/tools.js'
import {runProcess} from '../process.js'
import type {StorageConfig} from '../storage/open.js'
import {encodeSharedChunk} from './chunk-transfer.js'
import {CHUNK_QUEUE_NAME, putBack, workerSettings, type WorkerSettingsOptions} from './queue-settings.js'

/**
 * A chunk task's envelope: what the worker itself reads. The media plan inside (renditions, rates,
 * picture) is checked as far as being objects: the fan-out of a transcode makes it, and
 * buildChunkArgs turns it into ffmpeg's argv, whose own checks name anything wrong in it.
 */
const chunkTaskSchema = {
  type: 'object',
  properties: {
    key: {type: 'string', minLength: 1},
    input: {type: 'string', minLength: 1},
    outputs: {type: 'array', items: {type: 'string', minLength: 1}, minItems: 1},
    renditions: {type: 'array', items: {type: 'object'}, minItems: 1},
    chunk: {
      type: 'object',
      properties: {
        index: {type: 'integer', minimum: 0},
        startSeconds: {type: 'number', minimum: 0},
        frames: {type: 'integer', minimum: 1},
        prerollFrames: {type: 'integer', minimum: 0},
      },
      required: ['index', 'startSeconds', 'prerollFrames'],
    },
    frameRate: {type: 'number', exclusiveMinimum: 0},
    segmentDurationSeconds: {type: 'number', exclusiveMinimum: 0},
    preset: {type: 'string', minLength: 1},
    sourcePicture: {type: 'object', properties: {width: {type: 'number'}, height: {type: 'number'}}, required: ['width', 'height']},
    rates: {type: 'array', items: {type: 'object'}},
    picture: {type: 'object'},
    shared: {type: 'object', properties: {inputUri: {type: 'string', minLength: 1}, outputUri: {type: 'string', minLength: 1}}, required: ['inputUri', 'outputUri']},
  },
  required: ['key', 'input', 'outputs', 'renditions', 'chunk', 'frameRate', 'segmentDurationSeconds', 'preset'],
} as const

const chunkTaskCheck = compileJsonCheck<unknown>(chunkTaskSchema)

/** The chunk task a job carries; throws a UserError naming the job when its data is not one. */
export function parseChunkTask(data: unknown, source: string): ChunkTask {
  chunkTaskCheck.parse(data, source)
  // The envelope is checked above; the media plan is the fan-out's own (see chunkTaskSchema).
  const task = data as ChunkTask
  if (task.outputs.length !== task.renditions.length) throw new UserError(`${source}: ${task.outputs.length} outputs for ${task.renditions.length} renditions`)
  return task
}

export interface ChunkWorkerOptions extends WorkerSettingsOptions {
  /** Where a shared chunk's input is fetched to and its outputs are made. */
  dataDir: string
  storageConfig: StorageConfig
}

/** Encodes chunks until closed; a chunk running when `signal` aborts goes back to the queue. */
export function createChunkWorker(options: ChunkWorkerOptions, signal: AbortSignal): Worker {
  return new Worker(CHUNK_QUEUE_NAME, async (job: Job, token?: string) => {
    let task: ChunkTask
    try {
      task = parseChunkTask(job.data, `Chunk job ${job.id} (${CHUNK_QUEUE_NAME})`)
    } catch (error) {
      // The same data fails the same way every time: no retry.
      throw new UnrecoverableError((error as Error).message)
    }

    const {ffmpeg} = await mediaTools()
    try {
      if (task.shared) await encodeSharedChunk(task, {ffmpeg, dataDir: options.dataDir, config: options.storageConfig, signal})
      else await runProcess(ffmpeg, buildChunkArgs(task), {signal})
    } catch (error) {
      if (signal.aborted) throw await putBack(job, token)
      throw error
    }
  }, workerSettings(options))
}
