/**
 * The live stream's state machine, without processes: a fake encoder, publisher and catalog, and
 * fake timers. Every path ends in ended or failed, with the encoder stopped and the status written.
 */
import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'

import {StoragePublishError} from '../../src/lib/ingest/live-publisher.js'
import {type LiveStreamDeps, LiveStream, type StatusUpdate} from '../../src/lib/ingest/live-stream.js'
import type {PackageManifest} from '../../src/lib/package/manifest.js'

const SETTINGS = {videoId: 'v', packageLocation: 'file:///media/v', reconnectGraceMs: 5000, storageOutageLimitMs: 10_000, pollMs: 200, drainIdleMs: 1500, endGraceMs: 10_000}

/** The package the fake publisher reports, live or ended (told apart by its duration). */
const packageOf = (ended: boolean): PackageManifest => ({
  version: 1, createdAt: '2025-01-01T00:00:00.000Z', durationSeconds: ended ? 2 : 1, segmentDurationSeconds: 1, formats: ['hls', 'dash'], renditions: [], totalFiles: 0, totalBytes: 0,
})

function harness(options: {startFails?: Error} = {}) {
  let exit!: (error?: Error) => void
  const exited = new Promise<Error | undefined>((resolve) => (exit = resolve))
  const encoder = {stops: 0, lastAdvance: Date.now() as number | undefined}
  const publisher = {syncs: [] as boolean[], failure: undefined as Error | undefined, keepFailure: undefined as Error | undefined, published: 0, kept: 0, secondsPerSync: 1, playable: true}
  const statuses: StatusUpdate[] = []
  const log: string[] = []
  let endInputs = 0
  let catalogDown = false
  const deps: LiveStreamDeps = {
    start: async () => {
      if (options.startFails) throw options.startFails
      return {
        description: 'test',
        encoder: {exited, lastAdvanceMs: () => encoder.lastAdvance, stop: () => {
          encoder.stops++
          // Stopped on request: a clean exit, as SIGINT gives.
          exit(undefined)
        }},
        publisher: {
          sync: async (ended: boolean) => {
            publisher.syncs.push(ended)
            if (publisher.failure) throw publisher.failure
            publisher.published += publisher.secondsPerSync
            return publisher.secondsPerSync
          },
          get publishedSeconds() {
            return publisher.published
          },
          get playable() {
            return publisher.playable
          },
          manifest: packageOf,
          keepLocally: async () => {
            if (publisher.keepFailure) throw publisher.keepFailure
            publisher.kept++
            return '/data/live/v'
          },
        },
      }
    },
    endInput: () => {
      endInputs++
    },
    writeStatus: async (update) => {
      if (catalogDown) throw new Error('catalog unreachable')
      statuses.push(update)
    },
    log: (line) => log.push(line),
  }
  return {
    deps,
    encoder,
    publisher,
    statuses,
    log,
    exit: (error?: Error) => exit(error),
    get endInputs() {
      return endInputs
    },
    setCatalogDown: (down: boolean) => (catalogDown = down),
  }
}

const states = (stream: LiveStream) => stream.history.map((step) => step.to)

beforeEach(() => {
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('live stream', () => {
  it('goes live, waits out a broadcaster who left, drains and ends', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    expect(stream.state).toBe('live')
    await vi.advanceTimersByTimeAsync(SETTINGS.pollMs)
    expect(test.statuses[0]).toEqual({status: 'live', packageLocation: 'file:///media/v', manifest: packageOf(false)})
    stream.disconnected()
    expect(stream.state).toBe('grace')
    await vi.advanceTimersByTimeAsync(SETTINGS.reconnectGraceMs)
    expect(stream.state).toBe('draining')
    // The encoder has produced nothing new since the broadcaster left: once that lasts the idle time, its input is ended.
    expect(test.endInputs).toBe(0)
    await vi.advanceTimersByTimeAsync(SETTINGS.drainIdleMs + 200)
    expect(test.endInputs).toBe(1)
    test.exit()
    const result = await stream.done
    expect(result).toMatchObject({status: 'ended'})
    expect(states(stream)).toEqual(['live', 'grace', 'draining', 'ended'])
    expect(test.publisher.syncs.at(-1)).toBe(true)
    expect(test.statuses.at(-1)).toMatchObject({status: 'ended', manifest: packageOf(true)})
  })

  it('tells the catalog it is live only once a player can start, and again only when segments are added', async () => {
    const test = harness()
    test.publisher.playable = false
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(SETTINGS.pollMs * 3)
    // Segments reached storage, but not yet every playlist: a viewer sent there would get a 404.
    expect(stream.state).toBe('live')
    expect(test.statuses).toEqual([])
    test.publisher.playable = true
    await vi.advanceTimersByTimeAsync(SETTINGS.pollMs)
    expect(test.statuses.map((update) => update.status)).toEqual(['live'])
    // Polls that find nothing new write nothing.
    test.publisher.secondsPerSync = 0
    await vi.advanceTimersByTimeAsync(SETTINGS.pollMs * 5)
    expect(test.statuses).toHaveLength(1)
    stream.shutdown()
    test.exit()
    await stream.done
    expect(test.statuses.map((update) => update.status)).toEqual(['live', 'ended'])
  })

  it('continues the same stream when the broadcaster is back within the grace period', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    stream.disconnected()
    await vi.advanceTimersByTimeAsync(SETTINGS.reconnectGraceMs - 1)
    expect(stream.reconnected()).toBe(true)
    await vi.advanceTimersByTimeAsync(SETTINGS.reconnectGraceMs * 2)
    expect(stream.state).toBe('live')
    expect(test.endInputs).toBe(0)
    stream.shutdown()
    test.exit()
    await stream.done
    expect(states(stream)).toEqual(['live', 'grace', 'live', 'draining', 'ended'])
  })

  it('ends the input of an encoder that has produced nothing yet once the broadcaster has been gone for the idle time', async () => {
    const test = harness()
    test.encoder.lastAdvance = undefined
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    stream.shutdown()
    await vi.advanceTimersByTimeAsync(SETTINGS.drainIdleMs - 200)
    expect(test.endInputs).toBe(0)
    await vi.advanceTimersByTimeAsync(400)
    expect(test.endInputs).toBe(1)
    test.exit()
    expect((await stream.done).status).toBe('ended')
  })

  it('stops the encoder when it does not end by itself after its input ended', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    stream.shutdown()
    await vi.advanceTimersByTimeAsync(SETTINGS.drainIdleMs + SETTINGS.endGraceMs + 200)
    expect(test.encoder.stops).toBeGreaterThan(0)
    expect((await stream.done).status).toBe('ended')
  })

  it('fails when the encoder fails while live, with the reason, and stops it', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    test.exit(new Error('ffmpeg exited with code 1'))
    const result = await stream.done
    expect(result).toMatchObject({status: 'failed', reason: 'the encoder failed: ffmpeg exited with code 1'})
    expect(test.statuses.at(-1)).toMatchObject({status: 'failed', reason: 'the encoder failed: ffmpeg exited with code 1'})
    expect(test.encoder.stops).toBeGreaterThan(0)
  })

  it('fails when storage stays away past the limit: the encoder stopped, the segments kept locally', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(1000)
    test.publisher.failure = new StoragePublishError('Could not publish seg-0-00003.m4s to s3://live: connection reset')
    await vi.advanceTimersByTimeAsync(SETTINGS.storageOutageLimitMs - 1000)
    // Within the limit the stream waits (the encoder goes on, its segments wait locally).
    expect(stream.state).toBe('live')
    expect(test.encoder.stops).toBe(0)
    await vi.advanceTimersByTimeAsync(2000)
    const result = await stream.done
    expect(result.status).toBe('failed')
    expect(result.reason).toMatch(/^storage was unavailable for 1\d s: Could not publish seg-0-00003\.m4s/)
    expect(test.encoder.stops).toBeGreaterThan(0)
    expect(test.publisher.kept).toBe(1)
    expect(test.statuses.at(-1)).toMatchObject({status: 'failed', reason: result.reason})
  })

  it('still ends failed, and says why, when its segments cannot be kept locally either', async () => {
    const test = harness()
    test.publisher.keepFailure = new Error('Permission denied: cannot read /data/live/v/media_0.m3u8')
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    test.exit(new Error('ffmpeg exited with code 1'))
    expect(await stream.done).toMatchObject({status: 'failed', reason: 'the encoder failed: ffmpeg exited with code 1'})
    expect(test.statuses.at(-1)).toMatchObject({status: 'failed'})
    expect(test.log).toContain('live v: could not keep its segments locally: Permission denied: cannot read /data/live/v/media_0.m3u8')
  })

  it('publishes what waited once storage is back within the limit, and ends normally', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(1000)
    test.publisher.failure = new StoragePublishError('503 Service Unavailable')
    await vi.advanceTimersByTimeAsync(SETTINGS.storageOutageLimitMs / 2)
    test.publisher.failure = undefined
    await vi.advanceTimersByTimeAsync(1000)
    expect(test.log.some((line) => /storage is back/.test(line))).toBe(true)
    stream.shutdown()
    test.exit()
    expect((await stream.done).status).toBe('ended')
  })

  it('fails, stopping the encoder, when publishing breaks in a way that is not storage', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    test.publisher.failure = new Error('ENOSPC: no space left on device, write')
    await vi.advanceTimersByTimeAsync(400)
    const result = await stream.done
    expect(result).toMatchObject({status: 'failed', reason: 'ENOSPC: no space left on device, write'})
    expect(test.encoder.stops).toBeGreaterThan(0)
  })

  it('fails when the broadcast cannot be probed, and says so in the catalog', async () => {
    const test = harness({startFails: new Error('ffprobe found no video stream')})
    const stream = new LiveStream(SETTINGS, test.deps)
    const result = await stream.done
    expect(result).toMatchObject({status: 'failed', reason: 'ffprobe found no video stream'})
    expect(test.statuses).toEqual([{status: 'failed', packageLocation: 'file:///media/v', reason: 'ffprobe found no video stream'}])
  })

  it('fails a stream ingest stops before it started', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    stream.shutdown()
    const result = await stream.done
    expect(result.status).toBe('failed')
    expect(test.encoder.stops).toBeGreaterThan(0)
  })

  it('goes on while the catalog is away, and writes the final status once it is back', async () => {
    const test = harness()
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    test.setCatalogDown(true)
    await vi.advanceTimersByTimeAsync(1000)
    expect(stream.state).toBe('live')
    stream.shutdown()
    test.exit()
    await vi.advanceTimersByTimeAsync(300)
    test.setCatalogDown(false)
    await vi.advanceTimersByTimeAsync(10_000)
    expect((await stream.done).status).toBe('ended')
    expect(test.statuses.at(-1)).toMatchObject({status: 'ended'})
  })

  it('ends failed when the broadcast gave nothing to publish', async () => {
    const test = harness()
    test.publisher.secondsPerSync = 0
    const stream = new LiveStream(SETTINGS, test.deps)
    await vi.advanceTimersByTimeAsync(0)
    stream.shutdown()
    test.exit()
    const result = await stream.done
    expect(result).toMatchObject({status: 'failed', reason: expect.stringMatching(/^nothing was published/)})
    expect(test.statuses.at(-1)).toMatchObject({status: 'failed'})
  })
})
