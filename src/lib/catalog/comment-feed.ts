/**
 * The live comment feed of one process: new comments, as they are stored, to every open stream of
 * their video, in server order, each exactly once.
 *
 * One poller per process (not per stream) reads the catalog by cursor, so a replica also sees the
 * comments posted through another one against the same database: `seq > watermark`, on the
 * primary key, every `pollIntervalMs` while anyone listens, and at once when this process stored a
 * comment itself (`notify`). A stream that starts from a cursor first gets what it missed from the
 * catalog, then joins the live fan-out without a gap or a repeat.
 *
 * Gaps: MySQL hands out auto-increment numbers before commit, so seq 11 can become visible before
 * seq 10. Delivering 11 first would let a client's cursor skip 10 for good; the feed therefore
 * holds a comment that has a missing number below it until that number appears, or until the
 * comment has been visible for `gapTimeoutMs` (a failed insert also spends a number for good).
 * Comments seen in the same read share that deadline, so gaps never add up. A comment whose
 * insert takes longer than that to commit is then behind the streams' cursors: it is in the
 * catalog and the comment list, but live streams do not get it. SQLite writes one at a time and
 * leaves no such gaps.
 */
import type {Catalog} from './connection.js'
import type {Comment} from '../../shared/comment.js'
import {type CommentRow, commentsAfter, latestCommentSeq, toComment, videoCommentsBetween} from './comments.js'

export interface CommentFeedOptions {
  /** How often to look for comments stored by other processes (default 100 ms). */
  pollIntervalMs?: number
  /** How long a missing sequence number holds back the ones after it (default 2000 ms). */
  gapTimeoutMs?: number
  /** Rows read per query (default 500). */
  batchSize?: number
  /** A poll failed (the database went away); the feed keeps its streams and tries again. */
  onError?: (error: unknown) => void
  /** For tests: the clock. */
  now?: () => number
}

/** A comment on its way to streams: the row's sequence number, and its JSON made once for all of them. */
export interface FeedEvent {
  seq: number
  comment: Comment
  readonly json: string
}

export interface FeedListener {
  onComment(event: FeedEvent): void
  /** The feed is closing (server shutdown): end the stream; the client reconnects elsewhere. */
  onEnd(): void
}

interface Subscriber {
  videoId: string
  listener: FeedListener
  /** The last sequence number this subscriber has been given (or skipped as already seen). */
  lastSeq: number
  /** Live events that arrived while the catch-up from the catalog was still being sent. */
  pending?: FeedEvent[]
}

function toEvent(row: CommentRow): FeedEvent {
  const comment = toComment(row)
  let json: string | undefined
  return {
    seq: Number(row.seq),
    comment,
    get json() {
      json ??= JSON.stringify(comment)
      return json
    },
  }
}

export class CommentFeed {
  private readonly pollIntervalMs: number
  private readonly gapTimeoutMs: number
  private readonly batchSize: number
  private readonly now: () => number
  private readonly byVideo = new Map<string, Set<Subscriber>>()
  private subscribers = 0
  /** Every comment with seq <= watermark has been dispatched (or given up on). Unset while idle. */
  private watermark: number | undefined
  private starting: Promise<number> | undefined
  /** When each comment held back behind a gap was first seen. */
  private readonly heldSince = new Map<number, number>()
  private loop: Promise<void> | undefined
  private pollAgain = false
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly catalog: Catalog,
    private readonly options: CommentFeedOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 100
    this.gapTimeoutMs = options.gapTimeoutMs ?? 2000
    this.batchSize = options.batchSize ?? 500
    this.now = options.now ?? Date.now
  }

  /** Open streams. */
  get size(): number {
    return this.subscribers
  }

  /**
   * Starts a stream of `videoId`'s new comments. With `afterSeq`, the comments after it that are
   * already stored come first; without, the stream starts from now. Resolves once the catch-up
   * has been handed to the listener; the returned function ends the subscription.
   */
  async subscribe(videoId: string, afterSeq: number | undefined, listener: FeedListener): Promise<() => void> {
    if (this.closed) throw new Error('the comment feed is closed')
    const started = await this.start()
    if (this.closed) {
      // Closed while this one was starting: it ends like every other stream.
      listener.onEnd()
      return () => undefined
    }

    // Taken in the same step as joining: everything up to here has been dispatched (to others),
    // everything after it reaches this subscriber live.
    const upto = this.watermark ?? started
    const subscriber: Subscriber = {videoId, listener, lastSeq: afterSeq ?? upto, pending: []}
    this.add(subscriber)
    // The last stream may have left while this one was starting, and the feed went idle: resume from here.
    this.watermark ??= upto
    const unsubscribe = () => this.remove(subscriber)
    try {
      // The catch-up goes to the listener as it is read, in order; live events wait in `pending`.
      let from = afterSeq ?? upto
      while (from < upto && this.isSubscribed(subscriber)) {
        const rows = await videoCommentsBetween(this.catalog, videoId, from, upto, this.batchSize)
        for (const row of rows) {
          if (!this.isSubscribed(subscriber)) break
          this.emit(subscriber, toEvent(row))
        }

        if (rows.length < this.batchSize) break
        from = Number(rows.at(-1)?.seq)
      }
    } catch (error) {
      this.remove(subscriber)
      throw error
    }

    const pending = subscriber.pending ?? []
    subscriber.pending = undefined
    for (const event of pending) this.give(subscriber, event)
    this.schedule()
    return unsubscribe
  }

  /** A comment was stored by this process: look now instead of at the next tick. Resolves when that look is done. */
  async notify(): Promise<void> {
    if (this.subscribers > 0 && this.watermark !== undefined) await this.poll()
  }

  /** Ends every stream and stops polling. */
  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    for (const set of this.byVideo.values()) for (const subscriber of set) subscriber.listener.onEnd()
    this.byVideo.clear()
    this.subscribers = 0
  }

  private async start(): Promise<number> {
    if (this.watermark !== undefined) return this.watermark
    this.starting ??= latestCommentSeq(this.catalog).then(
      (seq) => {
        this.watermark ??= seq
        this.starting = undefined
        return this.watermark
      },
      (error: unknown) => {
        this.starting = undefined
        throw error
      },
    )
    return this.starting
  }

  private add(subscriber: Subscriber): void {
    let set = this.byVideo.get(subscriber.videoId)
    if (!set) this.byVideo.set(subscriber.videoId, (set = new Set()))
    set.add(subscriber)
    this.subscribers++
  }

  private remove(subscriber: Subscriber): void {
    const set = this.byVideo.get(subscriber.videoId)
    if (!set?.delete(subscriber)) return
    if (set.size === 0) this.byVideo.delete(subscriber.videoId)
    this.subscribers--
    if (this.subscribers === 0) {
      // Idle: stop polling, and start again from the newest comment when someone comes back.
      clearTimeout(this.timer)
      this.timer = undefined
      this.watermark = undefined
      this.heldSince.clear()
    }
  }

  private isSubscribed(subscriber: Subscriber): boolean {
    return this.byVideo.get(subscriber.videoId)?.has(subscriber) ?? false
  }

  /** A live event: held while the subscriber's catch-up is still being sent, else handed on. */
  private give(subscriber: Subscriber, event: FeedEvent): void {
    if (subscriber.pending) subscriber.pending.push(event)
    else this.emit(subscriber, event)
  }

  private emit(subscriber: Subscriber, event: FeedEvent): void {
    if (event.seq <= subscriber.lastSeq) return
    subscriber.lastSeq = event.seq
    subscriber.listener.onComment(event)
  }

  private schedule(): void {
    if (this.closed || this.subscribers === 0 || this.timer || this.loop) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.poll()
    }, this.pollIntervalMs)
  }

  /** Reads new comments now; if a read is under way, another follows it. Resolves after a read that began after the call. */
  private poll(): Promise<void> {
    if (this.loop) {
      this.pollAgain = true
      // The running loop reads again if it sees the request; if it had already finished, it starts a new one.
      return this.loop.then(() => this.loop)
    }

    clearTimeout(this.timer)
    this.timer = undefined
    this.loop = this.readUntilCurrent().finally(() => {
      this.loop = undefined
      if (this.pollAgain && !this.closed && this.subscribers > 0) void this.poll()
      else this.schedule()
    })
    return this.loop
  }

  private async readUntilCurrent(): Promise<void> {
    try {
      do {
        this.pollAgain = false
        if (this.watermark === undefined) break
        if (await this.pollOnce(this.watermark)) this.pollAgain = true
      } while (this.pollAgain && !this.closed && this.subscribers > 0)
    } catch (error) {
      this.options.onError?.(error)
    }
  }

  /** One read after the watermark; true when there may be more to read at once. */
  private async pollOnce(from: number): Promise<boolean> {
    const rows = await commentsAfter(this.catalog, from, this.batchSize)
    // The feed went idle (and may have restarted) while the query ran: this answer is stale.
    if (this.watermark !== from) return false
    const now = this.now()
    // Every comment read is dated when first seen, so those behind one gap share its deadline.
    for (const row of rows) if (!this.heldSince.has(Number(row.seq))) this.heldSince.set(Number(row.seq), now)
    for (const row of rows) {
      const seq = Number(row.seq)
      // A number below this one is missing: wait for it, but only so long after first seeing this one.
      if (seq !== (this.watermark ?? 0) + 1 && now - (this.heldSince.get(seq) ?? now) < this.gapTimeoutMs) return false
      this.heldSince.delete(seq)
      this.watermark = seq
      this.dispatch(toEvent(row))
    }

    return rows.length === this.batchSize
  }

  private dispatch(event: FeedEvent): void {
    const set = this.byVideo.get(event.comment.video_id)
    if (!set) return
    for (const subscriber of [...set]) this.give(subscriber, event)
  }
}
