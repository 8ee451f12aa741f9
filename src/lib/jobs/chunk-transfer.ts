/**
 * Chunks between machines (ChunkTask.shared): a chunk worker elsewhere reads the job's input from
 * shared storage, fetched once per input and kept for that job's other chunks, and puts its
 * outputs there; the machine that split the job fetches them into its staging folder and removes
 * them. Streamed both ways (flat memory); nothing partial is ever read: objects appear whole
 * (Storage.putFile) and local files by rename.
 */
import {createHash, randomBytes} from 'node:crypto'
import {readdir, stat, utimes} from 'node:fs/promises'
import path from 'node:path'

import {ensureDir, removeQuietly} from '../files.js'
import {buildChunkArgs, type ChunkTask} from '../media/chunks.js'
import {runProcess} from '../process.js'
import {sha256OfFile} from '../storage/checksum.js'
import {downloadObject, openObject} from '../storage/object.js'
import {openStorage, type StorageConfig} from '../storage/open.js'

/** Inputs kept for later chunks of the same jobs, per worker data folder. */
const CACHED_INPUTS = 2

/** Where a job's chunks wait in shared storage: beside its destination, removed once fetched. */
export function chunkExchangeUri(destination: string, videoId: string): string {
  return `${destination.replace(/\/+$/, '')}/livectl-chunks-tmp/${videoId}`
}

const fetching = new Map<string, Promise<string>>()
const inUse = new Map<string, number>()

/** The input of a shared chunk as a local file: fetched once, the least recently used beyond CACHED_INPUTS removed. */
async function acquireInput(uri: string, dataDir: string, config: StorageConfig): Promise<{file: string; release(): void}> {
  const root = path.join(dataDir, 'chunk-inputs')
  const dir = path.join(root, createHash('sha256').update(uri).digest('hex').slice(0, 16))
  const file = path.join(dir, `input${path.extname(uri.slice(uri.lastIndexOf('/') + 1))}`)
  inUse.set(dir, (inUse.get(dir) ?? 0) + 1)
  const release = () => inUse.set(dir, (inUse.get(dir) ?? 1) - 1)
  try {
    let pending = fetching.get(file)
    if (!pending) {
      pending = (async () => {
        const present = await stat(file).catch(() => undefined)
        if (present) {
          const now = new Date()
          await utimes(dir, now, now)
          return file
        }

        await ensureDir(dir)
        const {storage, key} = await openObject(uri, config)
        await downloadObject(storage, key, file)
        await evictInputs(root, dir)
        return file
      })().finally(() => fetching.delete(file))
      fetching.set(file, pending)
    }

    await pending
    return {file, release}
  } catch (error) {
    release()
    throw error
  }
}

async function evictInputs(root: string, keep: string): Promise<void> {
  const entries = await Promise.all((await readdir(root)).map(async (name) => {
    const dir = path.join(root, name)
    return {dir, modified: (await stat(dir)).mtimeMs}
  }))
  entries.sort((a, b) => b.modified - a.modified)
  for (const {dir} of entries.slice(CACHED_INPUTS)) {
    if (dir !== keep && !(inUse.get(dir) ?? 0)) await removeQuietly(dir)
  }
}

/** A worker's side: encode the chunk from the shared input, put its outputs in shared storage. */
export async function encodeSharedChunk(task: ChunkTask, options: {ffmpeg: string; dataDir: string; config: StorageConfig; signal?: AbortSignal}): Promise<void> {
  const shared = task.shared
  if (!shared) throw new Error('encodeSharedChunk needs a shared chunk task')
  const input = await acquireInput(shared.inputUri, options.dataDir, options.config)
  const work = path.join(options.dataDir, 'chunk-outputs', `${task.key}-${task.chunk.index}-${randomBytes(3).toString('hex')}`)
  try {
    await ensureDir(work)
    const outputs = task.outputs.map((output) => path.join(work, path.basename(output)))
    await runProcess(options.ffmpeg, buildChunkArgs({...task, input: input.file, outputs}), {signal: options.signal})
    const storage = await openStorage(shared.outputUri, options.config)
    for (const file of outputs) {
      const {size} = await stat(file)
      await storage.putFile(path.basename(file), file, {contentType: 'video/mp4', cacheControl: 'no-store', sha256: await sha256OfFile(file, size), sizeBytes: size}, options.signal)
    }
  } finally {
    input.release()
    await removeQuietly(work)
  }
}

/** The splitting machine's side: fetch a finished chunk's outputs to where the task names them, then remove them from storage. */
export async function collectSharedChunk(task: ChunkTask, config: StorageConfig): Promise<void> {
  const shared = task.shared
  if (!shared) return
  const storage = await openStorage(shared.outputUri, config)
  for (const output of task.outputs) await downloadObject(storage, path.basename(output), output)
  await storage.delete(task.outputs.map((output) => path.basename(output)))
}
