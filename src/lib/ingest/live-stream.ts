/**
 * One live stream, from the first push to its end, as one explicit state machine:
 *
 *   pending ──started──▶ live ──broadcaster left──▶ grace ──back in time──▶ live
 *      │                  │                          │
 *      │                  └──────────┬───────────────┘
 *      │                 shutdown, or grace over: draining (the encoder works off what it has,
 *      │                 its input ends, it writes its trailers) ──encoder exits──▶ ended
 *      └──────────────▶ failed  (from any state: probe or encoder failure, storage away too long)
 *
 * This object alone writes the video's catalog status, and it owns everything the stream runs:
 * the encoder (stopped on every path out of `run`, in a finally), the publish loop, and its
 * timers. Its collaborators come in through `LiveStreamDeps`, so the transitions are unit-tested
 * without processes.
 */
import type {PackageManifest} from '../package/manifest.js'
import {StoragePublishError} from './live-publisher.js'

export type LiveState = 'pending' | 'live' | 'grace' | 'draining' | 'ended' | 'failed'

export interface EncoderHandle {
  /** Resolves when the encoder exits: undefined for a clean exit (or one it was asked for), else the error. */
  exited: Promise<Error | undefined>
  /** When the encoder last produced media (ms since the epoch), undefined before its first output: it is idle once the input has run dry. */
  lastAdvanceMs(): number | undefined
  /** Stops it now (SIGINT, then SIGKILL after a grace period): it writes what it can. */
  stop(): void
}

/** The part of the publisher the stream drives. */
export interface LivePublishing {
  /** Publishes what the encoder completed; throws StoragePublishError when storage is away. */
  sync(ended: boolean): Promise<number>
  /** Seconds of media published. */
  readonly publishedSeconds: number
  /** Whether a player can start: the playlists, the master and the MPD are in storage. */
  readonly playable: boolean
  /** The package as published so far (the catalog's copy); `ended` once the stream is over. */
  manifest(ended: boolean): PackageManifest
  /** Writes the encoder's complete output as a local package (for a later `livectl publish`); returns its folder. */
  keepLocally(): Promise<string | undefined>
}

export interface StatusUpdate {
  status: 'live' | 'ended' | 'failed'
  packageLocation: string
  /** The package as published so far (the catalog's copy), when there is one. */
  manifest?: PackageManifest
  /** Why a stream failed. */
  reason?: string
}

export interface LiveStreamDeps {
  /** Probes the broadcast and starts the encoder and the publisher. */
  start(signal: AbortSignal): Promise<{encoder: EncoderHandle; publisher: LivePublishing; description: string}>
  /** Ends the encoder's input with an end of stream, so it writes its trailers. */
  endInput(): void
  /** The one way the stream's status reaches the catalog. Failures are retried by the stream. */
  writeStatus(update: StatusUpdate): Promise<void>
  log(line: string): void
  /** Time, and timers: real ones in service, fake ones in unit tests. */
  now?(): number
}

export interface LiveStreamSettings {
  videoId: string
  /** Where the stream's package lives in storage (known before anything is published). */
  packageLocation: string
  /** How long a broadcaster who left may come back and continue the same video. */
  reconnectGraceMs: number
  /** How long storage may stay away before the stream ends failed (segments wait locally meanwhile). */
  storageOutageLimitMs: number
  /** How often completed segments are looked for and published. */
  pollMs?: number
  /** The encoder counts as drained after producing nothing for this long once its input is gone. */
  drainIdleMs?: number
  /** How long the encoder gets to end after its input ended, before it is stopped. */
  endGraceMs?: number
}

export interface LiveStreamResult {
  videoId: string
  status: 'ended' | 'failed'
  reason?: string
  durationSeconds: number
}

export class LiveStream {
  private current: LiveState = 'pending'
  private readonly abort = new AbortController()
  private graceTimer: NodeJS.Timeout | undefined
  private drainTimer: NodeJS.Timeout | undefined
  private stopTimer: NodeJS.Timeout | undefined
  private encoder: EncoderHandle | undefined
  private failure: string | undefined
  private storageDownSince: number | undefined
  private wake: (() => void) | undefined
  private readonly now: () => number
  private readonly transitions: Array<{from: LiveState; to: LiveState}> = []
  readonly done: Promise<LiveStreamResult>

  constructor(
    private readonly settings: LiveStreamSettings,
    private readonly deps: LiveStreamDeps,
  ) {
    this.now = deps.now ?? Date.now
    this.done = this.run()
  }

  get state(): LiveState {
    return this.current
  }

  /** Every state change so far, in order (for tests and logs). */
  get history(): ReadonlyArray<{from: LiveState; to: LiveState}> {
    return this.transitions
  }

  /** The broadcaster's connection closed: wait for it to come back, for a while. */
  disconnected(): void {
    if (this.current !== 'live') return
    this.enter('grace')
    this.graceTimer = setTimeout(() => this.drain('the broadcaster left'), this.settings.reconnectGraceMs)
  }

  /** The broadcaster is back within the grace period: the same video goes on. */
  reconnected(): boolean {
    if (this.current !== 'grace') return false
    clearTimeout(this.graceTimer)
    this.graceTimer = undefined
    this.enter('live')
    return true
  }

  /** Ingest is stopping: end the stream the way a broadcaster leaving ends it, now. */
  shutdown(): void {
    if (this.current === 'pending') {
      this.fail('ingest stopped before the stream started')
      return
    }

    this.drain('ingest is stopping')
  }

  /** Stops the encoder now (a drain that takes too long on shutdown); the stream then ends with what it has. */
  stopEncoder(): void {
    this.encoder?.stop()
  }

  private enter(next: LiveState): void {
    if (next === this.current) return
    this.transitions.push({from: this.current, to: next})
    this.current = next
    this.wake?.()
  }

  private isFinal(): boolean {
    return this.current === 'ended' || this.current === 'failed'
  }

  /** A method, not a comparison, so TypeScript does not narrow `current` across the awaits that change it. */
  private hasFailed(): boolean {
    return this.current === 'failed'
  }

  /** The encoder works off what it has, then its input ends and it writes its trailers; if that does not end it, it is stopped. */
  private drain(why: string): void {
    if (this.current !== 'live' && this.current !== 'grace') return
    clearTimeout(this.graceTimer)
    this.deps.log(`live ${this.settings.videoId}: ${why}; draining the encoder`)
    this.enter('draining')
    const idleMs = this.settings.drainIdleMs ?? 1500
    const drainStartedAt = this.now()
    const check = () => {
      const encoder = this.encoder
      const last = encoder?.lastAdvanceMs()
      // Drained: nothing new for idleMs since the broadcaster left, or since the encoder's last
      // output if that is later. An encoder that has produced nothing yet may still be reading its
      // input's first seconds (on a busy machine): the end of its input is what lets it go on with
      // what it has, so it too gets only idleMs.
      if (!encoder || this.now() - Math.max(last ?? 0, drainStartedAt) > idleMs) {
        this.deps.endInput()
        this.stopTimer = setTimeout(() => this.encoder?.stop(), this.settings.endGraceMs ?? 10_000)
        return
      }

      this.drainTimer = setTimeout(check, 100)
    }

    check()
  }

  private fail(reason: string): void {
    if (this.isFinal()) return
    this.failure ??= reason
    this.deps.log(`live ${this.settings.videoId} failed: ${reason}`)
    this.enter('failed')
    this.abort.abort()
    this.encoder?.stop()
  }

  private clearTimers(): void {
    clearTimeout(this.graceTimer)
    clearTimeout(this.drainTimer)
    clearTimeout(this.stopTimer)
  }

  /** Writes a status; a catalog that is away is retried (the stream goes on meanwhile). */
  private async writeStatus(update: StatusUpdate, attempts = 1): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.writeStatus(update)
        return true
      } catch (error) {
        if (attempt >= attempts) {
          this.deps.log(`live ${this.settings.videoId}: could not write status ${update.status} to the catalog: ${(error as Error).message}`)
          return false
        }

        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)))
      }
    }
  }

  /**
   * One publish step: storage away is waited for (up to the limit); anything else fails the stream.
   * Returns the number of new segments, or undefined while storage is away.
   */
  private async publish(publisher: LivePublishing, ended: boolean): Promise<number | undefined> {
    try {
      const added = await publisher.sync(ended)
      if (this.storageDownSince !== undefined) this.deps.log(`live ${this.settings.videoId}: storage is back; publishing the segments that waited`)
      this.storageDownSince = undefined
      return added
    } catch (error) {
      if (!(error instanceof StoragePublishError)) throw error
      const now = this.now()
      if (this.storageDownSince === undefined) {
        this.storageDownSince = now
        this.deps.log(`live ${this.settings.videoId}: storage is failing (${error.message}); segments wait in the work folder`)
      }

      if (now - this.storageDownSince >= this.settings.storageOutageLimitMs) {
        this.fail(`storage was unavailable for ${Math.round((now - this.storageDownSince) / 1000)} s: ${error.message}`)
      }

      return undefined
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms)
      this.wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
  }

  private async run(): Promise<LiveStreamResult> {
    // Let the constructor return (and callers attach) before anything happens.
    await Promise.resolve()
    let publisher: LivePublishing | undefined
    try {
      const started = await this.deps.start(this.abort.signal)
      this.encoder = started.encoder
      publisher = started.publisher
      if (this.isFinal()) return await this.finish(publisher)
      // The catalog says `live` only once a player can start (the first publish below): a viewer
      // sent to the stream before its master playlist exists would get a 404, and players give up on that.
      this.deps.log(`live ${this.settings.videoId}: ${started.description}`)
      if (this.current === 'pending') this.enter('live')

      let exited: Error | undefined | 'running' = 'running'
      void this.encoder.exited.then((result) => {
        exited = result
        this.wake?.()
      })
      const pollMs = this.settings.pollMs ?? 200
      let announced = false
      while (exited === 'running' && !this.isFinal()) {
        await this.sleep(pollMs)
        if (exited !== 'running' || this.isFinal()) break
        // The catalog's copy of the package follows each new segment, not each poll.
        const added = await this.publish(publisher, false)
        if (added && publisher.playable && this.current !== 'draining' && !this.isFinal()) {
          await this.writeStatus({status: 'live', packageLocation: this.settings.packageLocation, manifest: publisher.manifest(false)}, announced ? 1 : 3)
          announced = true
        }
      }

      const error = await this.encoder.exited
      if (error && !this.isFinal()) {
        // Failing while it was asked to end is a trailer gone wrong: what was published stands. Failing while live is a failure.
        if (this.current === 'draining') this.deps.log(`live ${this.settings.videoId}: the encoder ended with an error: ${error.message}`)
        else this.fail(`the encoder failed: ${error.message}`)
      }

      return await this.finish(publisher)
    } catch (error) {
      this.fail((error as Error).message)
      return await this.finish(publisher)
    } finally {
      this.clearTimers()
      this.encoder?.stop()
    }
  }

  /** The last publish (playlists ended, MPD static, package manifest) and the last status. */
  private async finish(publisher: LivePublishing | undefined): Promise<LiveStreamResult> {
    this.clearTimers()
    const location = this.settings.packageLocation
    if (publisher && !this.hasFailed()) {
      // The encoder has exited: publish everything it completed, waiting for storage up to the limit.
      const publishEnded = async () => (await this.publish(publisher, true).catch((error: unknown) => {
        this.fail(`publishing failed: ${(error as Error).message}`)
        return undefined
      })) !== undefined
      let published = await publishEnded()
      while (!published && !this.hasFailed()) {
        await this.sleep(Math.min(2000, this.settings.storageOutageLimitMs))
        published = await publishEnded()
      }
    }

    const durationSeconds = publisher?.publishedSeconds ?? 0
    if (!this.hasFailed() && durationSeconds === 0) this.fail('nothing was published: the broadcast sent no media the encoder could use')
    if (this.hasFailed()) {
      const kept = publisher
        ? await publisher.keepLocally().catch((error: unknown) => {
            this.deps.log(`live ${this.settings.videoId}: could not keep its segments locally: ${(error as Error).message}`)
            return undefined
          })
        : undefined
      if (kept) this.deps.log(`live ${this.settings.videoId}: its complete segments are kept in ${kept}; publish them later with \`livectl publish ${kept} --video-id ${this.settings.videoId}\``)
      await this.writeStatus({status: 'failed', packageLocation: location, reason: this.failure, ...(publisher && durationSeconds > 0 ? {manifest: publisher.manifest(false)} : {})}, 5)
      return {videoId: this.settings.videoId, status: 'failed', reason: this.failure, durationSeconds}
    }

    this.enter('ended')
    await this.writeStatus({status: 'ended', packageLocation: location, manifest: publisher?.manifest(true)}, 5)
    this.deps.log(`live ${this.settings.videoId}: ended, ${durationSeconds.toFixed(1)} s kept as VOD at ${location}`)
    return {videoId: this.settings.videoId, status: 'ended', durationSeconds}
  }
}
