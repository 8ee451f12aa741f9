/**
 * What the live publisher makes of the encoder's work folder before anything is published: a file
 * not written yet means "nothing new", any other failure to read one is an error, not a wait.
 */
import {mkdir, writeFile} from 'node:fs/promises'
import path from 'node:path'

import {afterEach, beforeEach, describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {LivePublisher} from '../../src/lib/ingest/live-publisher.js'
import {planLadder, standardLadder} from '../../src/lib/media/ladder.js'
import type {Storage} from '../../src/lib/storage/storage.js'
import {makeTempDir} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}
const puts: string[] = []

beforeEach(async () => {
  work = await makeTempDir('livectl-live-publisher-')
  puts.length = 0
})

afterEach(async () => {
  await work.cleanup()
})

/** Storage that records what it is given (nothing should reach it in these tests). */
const storage: Storage = {
  uri: 'file:///media',
  putFile: async (key) => {
    puts.push(key)
    return {}
  },
  get: async () => {
    throw new Error('not read in these tests')
  },
  head: async () => undefined,
  list: async function * () {},
  delete: async () => undefined,
}

function publisher(workDir: string): LivePublisher {
  return new LivePublisher({
    workDir, storage, videoId: 'v', renditions: planLadder({displayWidth: 640, displayHeight: 360}, standardLadder(['144p'])), hasAudio: true, segmentDurationSeconds: 1, dvrWindowSeconds: 4,
  })
}

describe('live publisher', () => {
  it('names one media playlist per track, video rungs then audio', () => {
    expect(publisher(work.dir).playlists).toEqual(['media_0.m3u8', 'media_1.m3u8'])
  })

  it('publishes nothing, and does not fail, while the encoder has not written its MPD and playlists', async () => {
    const live = publisher(work.dir)
    expect(await live.sync(false)).toBe(0)
    await writeFile(path.join(work.dir, 'manifest.mpd'), '<MPD/>')
    await writeFile(path.join(work.dir, 'media_0.m3u8'), '#EXTM3U\n')
    // The audio playlist is still missing.
    expect(await live.sync(false)).toBe(0)
    expect(puts).toEqual([])
  })

  it('fails, naming the file, when an output cannot be read for another reason than not being there yet', async () => {
    // A directory where the MPD should be: reading it fails with EISDIR (as EACCES would, for a non-root user).
    await mkdir(path.join(work.dir, 'manifest.mpd'))
    const failure = await publisher(work.dir).sync(false).catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(UserError)
    expect((failure as Error).message).toBe(`Cannot read ${path.join(work.dir, 'manifest.mpd')}: it is a directory`)
  })

  it('keeps nothing locally while a playlist is not written yet', async () => {
    expect(await publisher(work.dir).keepLocally()).toBeUndefined()
  })
})
