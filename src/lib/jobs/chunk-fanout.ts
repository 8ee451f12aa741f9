/**
 * Chunk fan-out: the machine that splits a chunked encode puts each chunk on the chunk queue, for
 * every worker's chunk worker (chunk-worker.ts) to take, and waits for each; the outputs of a
 * shared chunk (one whose worker may be elsewhere) it then fetches from storage (chunk-transfer.ts).
 */
import {Queue, QueueEvents} from 'bullmq'

import {ExternalError} from '../errors.js'
import type {ChunkEncoder, ChunkTask} from '../media/chunks.js'
import type {StorageConfig} from '../storage/open.js'
import {collectSharedChunk} from './chunk-transfer.js'
import {CHUNK_JOB_NAME, CHUNK_QUEUE_NAME, jobSettings} from './queue-settings.js'
import {classifyRedisError} from './redis-errors.js'
import {parseRedisUrl} from './redis-url.js'

/** Encodes chunk tasks on the queue's workers and waits for each; `close` when done. */
export function createQueueChunkEncoder(redisUrl: string, config: StorageConfig = {}): {encode: ChunkEncoder; close(): Promise<void>} {
  // One queue and one event stream for all the chunks (they are encoded at once: open them once).
  let opened: Promise<{queue: Queue; events: QueueEvents}> | undefined
  const open = () => {
    opened ??= (async () => {
      const queue = new Queue(CHUNK_QUEUE_NAME, {connection: parseRedisUrl(redisUrl)})
      const events = new QueueEvents(CHUNK_QUEUE_NAME, {connection: parseRedisUrl(redisUrl, {blocking: true})})
      queue.on('error', () => undefined)
      events.on('error', () => undefined)
      await events.waitUntilReady()
      return {queue, events}
    })()
    return opened
  }

  return {
    encode: async (task: ChunkTask) => {
      const {queue, events} = await open()
      const job = await queue.add(CHUNK_JOB_NAME, task, {
        jobId: `${task.key}-${task.chunk.index}`,
        ...jobSettings(),
      }).catch((error: unknown) => {
        throw classifyRedisError(redisUrl, error) ?? error
      })
      try {
        await job.waitUntilFinished(events)
      } catch (error) {
        throw new ExternalError(`Chunk ${task.chunk.index} of ${task.shared?.inputUri ?? task.input} failed on a worker: ${(error as Error).message}`, {cause: error})
      }

      await collectSharedChunk(task, config)
    },
    close: async () => {
      if (!opened) return
      const {queue, events} = await opened.catch(() => ({queue: undefined, events: undefined}))
      await events?.close().catch(() => undefined)
      await queue?.close().catch(() => undefined)
    },
  }
}
