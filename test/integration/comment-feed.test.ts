/**
 * The live comment feed on both catalog backends: from now or from a cursor, in server order,
 * each comment once, only the stream's video, and never past a comment that is not committed yet.
 */
import path from 'node:path'

import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'

import {CommentFeed, type FeedEvent} from '../../src/lib/catalog/comment-feed.js'
import {decodeCursor, latestCommentSeq, postComment} from '../../src/lib/catalog/comments.js'
import {type Catalog, openCatalog} from '../../src/lib/catalog/connection.js'
import {upsertVideo} from '../../src/lib/catalog/videos.js'
import {makeTempDir} from '../support/media.js'
import {createTestDatabase, runMysqlSuites} from '../support/mysql.js'
import {waitFor} from '../support/wait.js'

let work: {dir: string; cleanup: () => Promise<void>}

beforeAll(async () => {
  work = await makeTempDir('livectl-feed-')
})

afterAll(async () => {
  await work?.cleanup()
})

const backends = [
  {name: 'SQLite', enabled: true, mysql: false, setup: async () => ({url: `sqlite:${path.join(work.dir, `feed-${Date.now()}.db`)}`, drop: async () => undefined})},
  {name: 'MySQL', enabled: runMysqlSuites, mysql: true, setup: createTestDatabase},
]

/** A listener that records what it is given. */
function recorder() {
  const events: FeedEvent[] = []
  let ended = false
  return {
    events,
    texts: () => events.map((event) => event.comment.data),
    get ended() {
      return ended
    },
    listener: {onComment: (event: FeedEvent) => events.push(event), onEnd: () => (ended = true)},
  }
}

describe.each(backends.filter((backend) => backend.enabled))('comment feed on $name', (backend) => {
  let catalog: Catalog
  let drop: () => Promise<void>
  let url: string
  const feeds: CommentFeed[] = []
  // A long poll interval: every delivery in these tests is driven by notify(), never by a timer.
  const newFeed = (options: ConstructorParameters<typeof CommentFeed>[1] = {}) => {
    const feed = new CommentFeed(catalog, {pollIntervalMs: 60_000, ...options})
    feeds.push(feed)
    return feed
  }

  const post = (videoId: string, data: string) => postComment(catalog, {video_id: videoId, author: 'ada', data})

  beforeAll(async () => {
    ;({url, drop} = await backend.setup())
    catalog = await openCatalog({url, dataDir: work.dir})
    for (const id of ['one', 'two']) await upsertVideo(catalog, {id, title: id, status: 'live', packageLocation: '/x'})
  })

  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.close()
  })

  afterAll(async () => {
    await catalog?.close()
    await drop?.()
  })

  it('starts from now: gives the comments stored after subscribing, in order, only of its video', async () => {
    await post('one', 'before')
    const feed = newFeed()
    const seen = recorder()
    await feed.subscribe('one', undefined, seen.listener)
    await post('one', 'first')
    await post('two', 'elsewhere')
    await post('one', 'second')
    await feed.notify()
    expect(seen.texts()).toEqual(['first', 'second'])
    expect(seen.events.map((event) => JSON.parse(event.json))).toEqual(seen.events.map((event) => event.comment))
  })

  it('from a cursor: first what was missed, then what comes, none twice', async () => {
    const {comment: anchor} = await post('two', 'anchor')
    await post('two', 'missed 1')
    await post('two', 'missed 2')
    const feed = newFeed()
    const seen = recorder()
    await feed.subscribe('two', decodeCursor(anchor.cursor), seen.listener)
    expect(seen.texts()).toEqual(['missed 1', 'missed 2'])
    await post('two', 'new')
    await feed.notify()
    await feed.notify()
    expect(seen.texts()).toEqual(['missed 1', 'missed 2', 'new'])
  })

  it('loses and repeats nothing when comments are stored while a stream subscribes', async () => {
    const start = await latestCommentSeq(catalog)
    const feed = newFeed({batchSize: 3})
    const seen = recorder()
    const writing = (async () => {
      for (let index = 0; index < 30; index += 1) {
        await post('one', `burst ${index}`)
        if (index % 4 === 0) void feed.notify()
      }
    })()
    await feed.subscribe('one', start, seen.listener)
    await writing
    await feed.notify()
    expect(seen.texts()).toEqual(Array.from({length: 30}, (_, index) => `burst ${index}`))
  })

  it('holds back comments after a missing number until the gap times out', async () => {
    let now = 1_000_000
    const feed = newFeed({gapTimeoutMs: 2000, now: () => now})
    const seen = recorder()
    await feed.subscribe('one', undefined, seen.listener)
    const latest = await latestCommentSeq(catalog)
    // A number spent by an insert that failed, then a comment after it.
    await catalog.db.insertInto('comments').values({seq: latest + 2, id: `gap-${latest}`, video_id: 'one', author: 'a', data: 'after the gap', at_seconds: null, created_at: new Date().toISOString()}).execute()
    await feed.notify()
    expect(seen.texts()).toEqual([])
    now += 1999
    await feed.notify()
    expect(seen.texts()).toEqual([])
    now += 2
    await feed.notify()
    expect(seen.texts()).toEqual(['after the gap'])
  })

  it('gives a catch-up in order even when a live comment arrives while it is being read', async () => {
    const {comment: anchor} = await post('two', 'catch-up anchor')
    for (let index = 1; index <= 4; index += 1) await post('two', `catch-up ${index}`)
    // A catch-up of one row per query leaves room for the live comment to arrive between them.
    const feed = newFeed({batchSize: 1})
    const other = recorder()
    await feed.subscribe('two', undefined, other.listener)
    const seen = recorder()
    const subscribing = feed.subscribe('two', decodeCursor(anchor.cursor), seen.listener)
    await post('two', 'live during the catch-up')
    await feed.notify()
    await subscribing
    await feed.notify()
    expect(other.texts()).toEqual(['live during the catch-up'])
    expect(seen.texts()).toEqual(['catch-up 1', 'catch-up 2', 'catch-up 3', 'catch-up 4', 'live during the catch-up'])
  })

  it('lets comments behind gaps seen in the same read share one deadline', async () => {
    let now = 5_000_000
    const feed = newFeed({gapTimeoutMs: 2000, now: () => now})
    const seen = recorder()
    await feed.subscribe('one', undefined, seen.listener)
    const latest = await latestCommentSeq(catalog)
    for (const offset of [2, 4]) {
      await catalog.db.insertInto('comments').values({seq: latest + offset, id: `gaps-${latest}-${offset}`, video_id: 'one', author: 'a', data: `behind gap ${offset}`, at_seconds: null, created_at: new Date().toISOString()}).execute()
    }

    await feed.notify()
    expect(seen.texts()).toEqual([])
    now += 2001
    await feed.notify()
    expect(seen.texts()).toEqual(['behind gap 2', 'behind gap 4'])
  })

  it('ends a stream that was still starting when the feed closed', async () => {
    const feed = newFeed()
    const late = recorder()
    const subscribing = feed.subscribe('one', undefined, late.listener)
    feed.close()
    await subscribing
    expect(late.ended).toBe(true)
    expect(feed.size).toBe(0)
  })

  it.runIf(backend.mysql)('waits for a comment whose insert has not committed yet, then gives both in order', async () => {
    const feed = newFeed()
    const seen = recorder()
    await feed.subscribe('two', undefined, seen.listener)
    let commit!: () => void
    const committed = new Promise<void>((resolve) => (commit = resolve))
    let inserted!: () => void
    const insertedPromise = new Promise<void>((resolve) => (inserted = resolve))
    const slow = catalog.db.transaction().execute(async (trx) => {
      await trx.insertInto('comments').values({id: 'slow', video_id: 'two', author: 'a', data: 'slow', at_seconds: null, created_at: new Date().toISOString()}).execute()
      inserted()
      await committed
    })
    await insertedPromise
    await post('two', 'fast')
    await feed.notify()
    expect(seen.texts()).toEqual([])
    commit()
    await slow
    await feed.notify()
    expect(seen.texts()).toEqual(['slow', 'fast'])
  })

  it('ends its streams when closed, and a stream that leaves gets nothing more', async () => {
    const feed = newFeed()
    const staying = recorder()
    const leaving = recorder()
    await feed.subscribe('one', undefined, staying.listener)
    const leave = await feed.subscribe('one', undefined, leaving.listener)
    expect(feed.size).toBe(2)
    leave()
    await post('one', 'after leaving')
    await feed.notify()
    expect(leaving.texts()).toEqual([])
    expect(staying.texts()).toEqual(['after leaving'])
    feed.close()
    expect(staying.ended).toBe(true)
    expect(feed.size).toBe(0)
  })

  it('keeps a stream that starts just as the last other one leaves', async () => {
    const feed = newFeed()
    const leaving = recorder()
    const joining = recorder()
    const leave = await feed.subscribe('one', undefined, leaving.listener)
    const joined = feed.subscribe('one', undefined, joining.listener)
    leave()
    await joined
    await post('one', 'for the newcomer')
    await feed.notify()
    expect(joining.texts()).toEqual(['for the newcomer'])
  })

  it('polls by itself for comments another process stored', async () => {
    const feed = new CommentFeed(catalog, {pollIntervalMs: 20})
    feeds.push(feed)
    const seen = recorder()
    await feed.subscribe('two', undefined, seen.listener)
    // Stored through a second connection, as another replica would: this feed is never told.
    const other = await openCatalog({url, dataDir: work.dir})
    try {
      await postComment(other, {video_id: 'two', author: 'bob', data: 'from the other replica'})
    } finally {
      await other.close()
    }

    await waitFor(() => seen.texts().includes('from the other replica'), {what: 'the polled comment'})
  })
})
