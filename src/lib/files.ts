/**
 * Output directories appear whole or not at all: work happens in a staging directory beside the
 * target, which is renamed into place only when everything in it is complete and checked.
 */
import {randomBytes} from 'node:crypto'
import {once} from 'node:events'
import type {ReadStream} from 'node:fs'
import {mkdir, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {UserError} from './errors.js'
import {fileSystemError} from './system-errors.js'

/**
 * Creates `dir` and its missing parents one level at a time, and says what stands in the way.
 * Not `mkdir(dir, {recursive: true})`: on Node 20 that spins forever for a path it cannot create
 * under /proc or /sys, where no signal can stop it.
 */
export async function ensureDir(dir: string): Promise<void> {
  const target = path.resolve(dir)
  const missing: string[] = []
  for (let current = target; ; current = path.dirname(current)) {
    let info
    try {
      info = await stat(current)
    } catch (error) {
      if ((error as {code?: string}).code !== 'ENOENT') throw fileSystemError(error, current, 'read the directory')
      missing.push(current)
      if (path.dirname(current) === current) break
      continue
    }

    if (!info.isDirectory()) throw new UserError(`Cannot create the directory ${target}: ${current} is a file`, {hint: 'Choose another location.'})
    break
  }

  for (const directory of missing.reverse()) {
    try {
      await mkdir(directory)
    } catch (error) {
      // Made meanwhile by someone else (another livectl process): fine, if it is a directory.
      if ((error as {code?: string}).code === 'EEXIST' && (await stat(directory).then((info) => info.isDirectory(), () => false))) continue
      throw fileSystemError(error, directory, 'create the directory')
    }
  }
}

export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch {
    return false
  }
}

/**
 * Refuses, before any work, to replace a directory that livectl did not write: the target must be
 * missing, empty, or hold `markerFile` from an earlier run.
 */
export async function assertReplaceableDir(target: string, markerFile: string): Promise<void> {
  let entries: string[]
  try {
    const info = await stat(target)
    if (!info.isDirectory()) throw new UserError(`Output path ${target} exists and is not a directory`)
    entries = await readdir(target)
  } catch (error) {
    if (error instanceof UserError) throw error
    return
  }

  if (entries.length > 0 && !entries.includes(markerFile)) {
    throw new UserError(`Output directory ${target} is not empty and was not written by livectl (no ${markerFile})`, {
      hint: 'Choose a new or empty directory; livectl replaces only its own earlier output.',
    })
  }
}

/**
 * A fresh directory beside `target` (same filesystem, so the final rename is atomic), made as a
 * plain mkdir makes one (permissions from the umask, not mkdtemp's owner-only 0700).
 */
export async function createStagingDir(target: string): Promise<string> {
  const parent = path.dirname(path.resolve(target))
  await ensureDir(parent)
  const staging = path.join(parent, `.${path.basename(target)}.partial-${randomBytes(6).toString('hex')}`)
  try {
    await mkdir(staging)
  } catch (error) {
    throw fileSystemError(error, staging, 'create the directory')
  }

  return staging
}

/** Moves a finished staging directory into place, replacing an earlier livectl output. */
export async function commitStagingDir(staging: string, target: string): Promise<void> {
  const resolved = path.resolve(target)
  if (!(await exists(resolved))) {
    await rename(staging, resolved)
    return
  }

  const previous = `${path.join(path.dirname(resolved), `.${path.basename(resolved)}.old-`)}${randomBytes(4).toString('hex')}`
  await rename(resolved, previous)
  try {
    await rename(staging, resolved)
  } catch (error) {
    await rename(previous, resolved)
    throw error
  }

  await rm(previous, {recursive: true, force: true})
}

export async function removeQuietly(target: string): Promise<void> {
  await rm(target, {recursive: true, force: true}).catch(() => undefined)
}

/** Writes JSON to a temporary name and renames it over the target. */
export async function writeJsonAtomic(file: string, data: unknown): Promise<void> {
  const temporary = `${file}.tmp-${randomBytes(4).toString('hex')}`
  await writeFile(temporary, `${JSON.stringify(data, null, 2)}\n`)
  await rename(temporary, file)
}

/**
 * Reads and parses a JSON file a user pointed at, turning "not there" into `missing` and broken
 * JSON into "LABEL is not valid JSON: ...".
 */
export async function readJsonFile(file: string, missing: UserError, label = file): Promise<unknown> {
  let text: string
  try {
    // A FIFO or a device would block the read until someone writes to it: only regular files.
    if (!(await stat(file)).isFile()) throw new UserError(`${label} is not a regular file`)
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (error instanceof UserError) throw error
    throw missing
  }

  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new UserError(`${label} is not valid JSON: ${(error as Error).message}`)
  }
}

/**
 * Closes a file stream whatever its consumer did with it, and returns once its descriptor is
 * closed: an HTTP client that gave up on a request body (an early answer, a reset) leaves it open.
 */
export async function closeFileStream(stream: ReadStream): Promise<void> {
  if (stream.closed) return
  const closed = once(stream, 'close').then(() => undefined, () => undefined)
  stream.destroy()
  await closed
}
