/**
 * Which live stream each RTMP push belongs to, and every decision about a push: refused (ingest
 * stopping, unknown or revoked key, key already live, key still ending its last stream), accepted
 * (its stream begins once its media flows), or the broadcaster back within the reconnect grace
 * (the same video goes on). No I/O: the streams come from a factory the server hands in, so the
 * decisions are unit-tested without RTMP, encoders or a catalog.
 */
import type {RtmpPush} from './rtmp-adapter.js'

/** The part of a live stream (live-stream.ts) the registry drives. */
export interface BroadcastStream {
  /** Whether the stream took the broadcaster back (it was waiting in its reconnect grace). */
  reconnected(): boolean
  /** The broadcaster's connection closed. */
  disconnected(): void
}

/** Who a broadcast is, fixed when its media first flows. */
export interface BroadcastIdentity {
  keyName: string
  videoId: string
  /** "/live/KEY": where the encoder pulls from. */
  streamPath: string
  startedAt: Date
}

export interface Broadcast<Stream extends BroadcastStream> extends BroadcastIdentity {
  stream: Stream
  /** The connected broadcaster, if any (none during a reconnect grace). */
  push?: RtmpPush
  /** Bytes read from the broadcaster at the last bitrate sample. */
  lastBytesIn: number
}

export type PushDecision<Stream extends BroadcastStream> =
  | {verdict: 'refused'; reason: string}
  /** Its stream begins when its media flows (`flowing`). */
  | {verdict: 'accepted'; keyName: string}
  /** The broadcaster came back within the grace period: the same video goes on. */
  | {verdict: 'reconnected'; broadcast: Broadcast<Stream>}

/** An active stream key, as found for a pushed key (keys.ts). */
export interface PushKey {
  name: string
}

/** "KEY-20250102-030405": the key and when its stream began, at most 64 characters (a catalog id). */
export function liveVideoId(keyName: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return `${keyName}-${stamp}`.slice(0, 64)
}

export class BroadcastRegistry<Stream extends BroadcastStream> {
  private readonly byKey = new Map<string, Broadcast<Stream>>()
  /** Broadcasts by the RTMP session that feeds them now. */
  private readonly bySession = new Map<string, Broadcast<Stream>>()
  /** Pushes accepted whose media does not flow yet: RTMP session id to key name. */
  private readonly accepted = new Map<string, string>()
  private stopping = false

  constructor(
    /** Creates the stream of a new broadcast (the server's: encoder, storage, catalog). */
    private readonly startStream: (identity: BroadcastIdentity, push: RtmpPush) => Stream,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new push, with the active key its stream key is (undefined: unknown or revoked). */
  decide(push: RtmpPush, key: PushKey | undefined): PushDecision<Stream> {
    if (this.stopping) return refused('ingest is stopping')
    if (push.app !== 'live' || !key) return refused('unknown or revoked stream key')
    const current = this.byKey.get(key.name)
    if (current?.push) return refused(`key ${key.name} is already live`)
    if (current?.stream.reconnected()) {
      current.push = push
      current.lastBytesIn = 0
      this.bySession.set(push.id, current)
      return {verdict: 'reconnected', broadcast: current}
    }

    if (current) return refused(`key ${key.name} is still ending its last stream`)
    this.accepted.set(push.id, key.name)
    return {verdict: 'accepted', keyName: key.name}
  }

  /** An accepted push's media flows: a new broadcast begins, returned; undefined for a push that was not a new one (a reconnect). */
  flowing(push: RtmpPush): Broadcast<Stream> | undefined {
    const keyName = this.accepted.get(push.id)
    this.accepted.delete(push.id)
    if (keyName === undefined) return undefined
    // Accepted just before ingest began stopping: no stream starts that nobody would wait for.
    if (this.stopping) {
      push.close()
      return undefined
    }
    const startedAt = this.now()
    const identity: BroadcastIdentity = {keyName, videoId: liveVideoId(keyName, startedAt), streamPath: push.streamPath, startedAt}
    const broadcast: Broadcast<Stream> = {...identity, stream: this.startStream(identity, push), push, lastBytesIn: 0}
    this.byKey.set(keyName, broadcast)
    this.bySession.set(push.id, broadcast)
    return broadcast
  }

  /** A push's connection closed: its stream (if it had one) waits for the broadcaster to come back. */
  closed(push: RtmpPush): void {
    this.accepted.delete(push.id)
    const broadcast = this.bySession.get(push.id)
    this.bySession.delete(push.id)
    if (!broadcast) return
    if (broadcast.push?.id === push.id) broadcast.push = undefined
    broadcast.stream.disconnected()
  }

  /** A broadcast's stream ended: forgotten, so the next push with its key is a new video. */
  finished(broadcast: Broadcast<Stream>): void {
    if (this.byKey.get(broadcast.keyName) === broadcast) this.byKey.delete(broadcast.keyName)
    for (const [session, candidate] of this.bySession) if (candidate === broadcast) this.bySession.delete(session)
  }

  /** Ingest is stopping: every push from now on is refused. Returns the broadcasts to end. */
  stop(): Array<Broadcast<Stream>> {
    this.stopping = true
    return this.list()
  }

  list(): Array<Broadcast<Stream>> {
    return [...this.byKey.values()]
  }

  /**
   * Bits per second received from each broadcaster since the last sample, `intervalSeconds` ago
   * (0 for a broadcast whose broadcaster is away).
   */
  sampleBitrates(intervalSeconds: number): Array<{videoId: string; bitsPerSecond: number}> {
    return this.list().map((broadcast) => {
      const bytes = broadcast.push?.bytesIn() ?? broadcast.lastBytesIn
      const bitsPerSecond = broadcast.push ? ((bytes - broadcast.lastBytesIn) * 8) / intervalSeconds : 0
      broadcast.lastBytesIn = bytes
      return {videoId: broadcast.videoId, bitsPerSecond}
    })
  }
}

function refused(reason: string): {verdict: 'refused'; reason: string} {
  return {verdict: 'refused', reason}
}
