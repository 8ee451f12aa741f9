/**
 * The decisions about a push, without RTMP, encoders or a catalog: fake pushes and a fake stream
 * that is in its reconnect grace or not.
 */
import {describe, expect, it} from 'vitest'

import {type BroadcastIdentity, BroadcastRegistry, liveVideoId} from '../../src/lib/ingest/broadcasts.js'
import type {RtmpPush} from '../../src/lib/ingest/rtmp-adapter.js'

class FakeStream {
  inGrace = false
  disconnects = 0
  constructor(readonly identity: BroadcastIdentity) {}

  reconnected(): boolean {
    if (!this.inGrace) return false
    this.inGrace = false
    return true
  }

  disconnected(): void {
    this.disconnects++
    this.inGrace = true
  }
}

let sessions = 0
function fakePush(streamName = 'secret', app = 'live'): RtmpPush & {bytes: number} {
  const push = {
    id: `session-${++sessions}`,
    app,
    streamName,
    streamPath: `/${app}/${streamName}`,
    ip: '192.0.2.1',
    bytes: 0,
    bytesIn: () => push.bytes,
    close: () => undefined,
    endPulls: () => undefined,
    forget: () => undefined,
  }
  return push
}

const KEY = {name: 'studio'}
const STARTED = new Date('2025-01-02T03:04:05.678Z')

function registry() {
  const started: FakeStream[] = []
  const broadcasts = new BroadcastRegistry<FakeStream>((identity) => {
    const stream = new FakeStream(identity)
    started.push(stream)
    return stream
  }, () => STARTED)
  return {broadcasts, started}
}

describe('broadcast registry', () => {
  it('refuses a push with an unknown or revoked key, or to another app than live', () => {
    const {broadcasts} = registry()
    expect(broadcasts.decide(fakePush(), undefined)).toEqual({verdict: 'refused', reason: 'unknown or revoked stream key'})
    expect(broadcasts.decide(fakePush('secret', 'other'), KEY)).toEqual({verdict: 'refused', reason: 'unknown or revoked stream key'})
  })

  it('accepts a push with an active key, and begins its stream only once its media flows', () => {
    const {broadcasts, started} = registry()
    const push = fakePush()
    expect(broadcasts.decide(push, KEY)).toEqual({verdict: 'accepted', keyName: 'studio'})
    expect(started).toHaveLength(0)
    expect(broadcasts.list()).toEqual([])

    const broadcast = broadcasts.flowing(push)
    expect(broadcast).toMatchObject({keyName: 'studio', videoId: 'studio-20250102-030405', streamPath: '/live/secret', startedAt: STARTED, push})
    expect(started.map((stream) => stream.identity.videoId)).toEqual(['studio-20250102-030405'])
    expect(broadcasts.list()).toEqual([broadcast])
  })

  it('begins nothing for a push that flows without having been accepted', () => {
    const {broadcasts, started} = registry()
    const push = fakePush()
    broadcasts.decide(push, undefined)
    expect(broadcasts.flowing(push)).toBeUndefined()
    expect(started).toHaveLength(0)
  })

  it('refuses a second push with a key that is already live', () => {
    const {broadcasts} = registry()
    const first = fakePush()
    broadcasts.decide(first, KEY)
    broadcasts.flowing(first)
    expect(broadcasts.decide(fakePush(), KEY)).toEqual({verdict: 'refused', reason: 'key studio is already live'})
  })

  it('starts no stream for a push accepted just before ingest began stopping, and closes it', () => {
    const {broadcasts, started} = registry()
    const push = fakePush()
    let closed = 0
    push.close = () => void closed++
    expect(broadcasts.decide(push, KEY).verdict).toBe('accepted')
    broadcasts.stop()
    expect(broadcasts.flowing(push)).toBeUndefined()
    expect(started).toHaveLength(0)
    expect(closed).toBe(1)
  })

  it('continues the same video when the broadcaster comes back within the grace period', () => {
    const {broadcasts, started} = registry()
    const first = fakePush()
    broadcasts.decide(first, KEY)
    const broadcast = broadcasts.flowing(first)
    broadcasts.closed(first)
    expect(broadcast?.push).toBeUndefined()
    expect(started[0]?.disconnects).toBe(1)

    const again = fakePush()
    const decision = broadcasts.decide(again, KEY)
    expect(decision).toEqual({verdict: 'reconnected', broadcast})
    expect(broadcast?.push).toBe(again)
    // Its media flowing begins nothing new; its connection closing is the stream's again.
    expect(broadcasts.flowing(again)).toBeUndefined()
    expect(started).toHaveLength(1)
    broadcasts.closed(again)
    expect(started[0]?.disconnects).toBe(2)
  })

  it('refuses the key while its last stream is still ending (past its grace period)', () => {
    const {broadcasts, started} = registry()
    const first = fakePush()
    broadcasts.decide(first, KEY)
    broadcasts.flowing(first)
    broadcasts.closed(first)
    // The grace period ran out: the stream drains and takes nobody back.
    if (started[0]) started[0].inGrace = false
    expect(broadcasts.decide(fakePush(), KEY)).toEqual({verdict: 'refused', reason: 'key studio is still ending its last stream'})
  })

  it('forgets a finished broadcast, so the next push with its key is a new video', () => {
    const {broadcasts, started} = registry()
    const first = fakePush()
    broadcasts.decide(first, KEY)
    const broadcast = broadcasts.flowing(first)
    broadcasts.closed(first)
    if (started[0]) started[0].inGrace = false
    broadcasts.finished(broadcast as NonNullable<typeof broadcast>)
    expect(broadcasts.list()).toEqual([])

    const next = fakePush()
    expect(broadcasts.decide(next, KEY)).toEqual({verdict: 'accepted', keyName: 'studio'})
    expect(broadcasts.flowing(next)).not.toBe(broadcast)
    expect(started).toHaveLength(2)
  })

  it('leaves a newer broadcast of the same key alone when an older one finishes', () => {
    const {broadcasts} = registry()
    const first = fakePush()
    broadcasts.decide(first, KEY)
    const older = broadcasts.flowing(first) as NonNullable<ReturnType<typeof broadcasts.flowing>>
    broadcasts.finished(older)
    const second = fakePush()
    broadcasts.decide(second, KEY)
    const newer = broadcasts.flowing(second)
    broadcasts.finished(older)
    expect(broadcasts.list()).toEqual([newer])
  })

  it('forgets an accepted push whose connection closed before its media flowed', () => {
    const {broadcasts, started} = registry()
    const push = fakePush()
    broadcasts.decide(push, KEY)
    broadcasts.closed(push)
    expect(broadcasts.flowing(push)).toBeUndefined()
    expect(started).toHaveLength(0)
  })

  it('refuses every push once ingest is stopping, and hands back the broadcasts to end', () => {
    const {broadcasts} = registry()
    const push = fakePush()
    broadcasts.decide(push, KEY)
    const broadcast = broadcasts.flowing(push)
    expect(broadcasts.stop()).toEqual([broadcast])
    expect(broadcasts.decide(fakePush('other'), {name: 'other'})).toEqual({verdict: 'refused', reason: 'ingest is stopping'})
  })

  it('samples each broadcaster\'s bitrate from the bytes read since the last sample, 0 while it is away', () => {
    const {broadcasts} = registry()
    const push = fakePush()
    broadcasts.decide(push, KEY)
    broadcasts.flowing(push)
    push.bytes = 250_000
    expect(broadcasts.sampleBitrates(2)).toEqual([{videoId: 'studio-20250102-030405', bitsPerSecond: 1_000_000}])
    push.bytes = 500_000
    expect(broadcasts.sampleBitrates(2)).toEqual([{videoId: 'studio-20250102-030405', bitsPerSecond: 1_000_000}])
    broadcasts.closed(push)
    expect(broadcasts.sampleBitrates(2)).toEqual([{videoId: 'studio-20250102-030405', bitsPerSecond: 0}])
  })
})

describe('live video id', () => {
  it('is the key and the start time to the second', () => {
    expect(liveVideoId('studio', STARTED)).toBe('studio-20250102-030405')
  })

  it('stays within 64 characters for the longest key', () => {
    expect(liveVideoId('k'.repeat(64), STARTED)).toHaveLength(64)
  })
})
