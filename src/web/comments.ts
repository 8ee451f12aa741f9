/**
 * The comments beside the player: everything stored, then new ones as they arrive (server-sent
 * events from the last cursor, so nothing posted in between is lost), placed on the timeline.
 * Comment text is only ever set with textContent.
 */
import type {Comment} from '../shared/comment.js'
import {ApiError, listAllComments, postComment} from './api.js'
import {compareComments, formatMediaTime, isShown} from './timeline.js'

interface Entry {
  comment: Comment
  /** Arrived while this page was open: shown at once, wherever the playhead is. */
  fresh: boolean
  element?: HTMLLIElement
}

export interface CommentsOptions {
  videoId: string
  list: HTMLOListElement
  form: HTMLFormElement
  author: HTMLInputElement
  text: HTMLTextAreaElement
  submit: HTMLButtonElement
  error: HTMLElement
  live: () => boolean
  playheadSeconds: () => number
  /** Seek the player to a comment's moment. */
  seek: (seconds: number) => void
}

const AUTHOR_KEY = 'livectl.author'
/** Backoff of our own reconnects, when EventSource gives up (a 503 while the catalog is away). */
const RETRY_MIN_MS = 2000
const RETRY_MAX_MS = 30_000
/** At most this many comments are loaded with the page (oldest first); later ones arrive by the stream. */
const MAX_PAGES = 50

/** A client id for idempotent posting (crypto.randomUUID needs a secure context; this does not). */
function newCommentId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return `w${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`
}

export class CommentsPanel {
  private readonly entries = new Map<string, Entry>()
  private source: EventSource | undefined
  /**
   * A post that failed, resent exactly as it was (id, author, moment) while the text stays the
   * same: if the first try was stored and only its answer lost, the retry gets it back, never a
   * duplicate and never a conflict.
   */
  private pending: {id: string; author: string; data: string; at: number | null} | undefined
  /** The cursor of the newest comment this page has: where a new connection resumes. */
  private lastCursor: string | undefined
  private loaded = false
  private retryMs = RETRY_MIN_MS

  constructor(private readonly options: CommentsOptions) {
    try {
      options.author.value = localStorage.getItem(AUTHOR_KEY) ?? ''
    } catch {
      // Storage can be off (private mode): the field just starts empty.
    }

    options.form.addEventListener('submit', (event) => {
      event.preventDefault()
      void this.submit()
    })
  }

  /**
   * Opens the stream first and loads what is stored once it is open: every comment posted before
   * the stream opened is in the list, every one after it comes by the stream (duplicates are
   * dropped by id), so nothing posted in between is lost, not even on a video with no comments yet.
   */
  start(): void {
    this.connect()
  }

  /** Call when the playhead moves: comments are revealed (or hidden again after a seek back). */
  render(): void {
    const live = this.options.live()
    const playheadSeconds = this.options.playheadSeconds()
    const shown = [...this.entries.values()]
      .filter((entry) => isShown(entry.comment, {live, playheadSeconds, fresh: entry.fresh}))
      .sort((a, b) => compareComments(a.comment, b.comment, live))
    const list = this.options.list
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
    const keep = new Set(shown)
    for (const entry of this.entries.values()) {
      if (entry.element && !keep.has(entry)) {
        entry.element.remove()
        entry.element = undefined
      }
    }

    let previous: HTMLLIElement | undefined
    for (const entry of shown) {
      entry.element ??= this.renderComment(entry.comment)
      const expected: Element | null = previous ? previous.nextElementSibling : list.firstElementChild
      if (expected !== entry.element) list.insertBefore(entry.element, expected)
      previous = entry.element
    }

    if (nearBottom) list.scrollTop = list.scrollHeight
  }

  close(): void {
    this.source?.close()
    this.source = undefined
  }

  private add(comment: Comment, fresh: boolean): void {
    if (this.entries.has(comment.id)) return
    this.entries.set(comment.id, {comment, fresh})
  }

  private async loadAll(): Promise<void> {
    const {comments, last} = await listAllComments(this.options.videoId, MAX_PAGES)
    for (const comment of comments) this.add(comment, false)
    this.lastCursor ??= last
    this.loaded = true
    this.render()
  }

  private connect(): void {
    const query = new URLSearchParams({video_id: this.options.videoId})
    if (this.lastCursor) query.set('after', this.lastCursor)
    const source = new EventSource(`/video/comments/stream?${query}`)
    this.source = source
    source.addEventListener('open', () => {
      this.retryMs = RETRY_MIN_MS
      // Without a cursor this stream started from now: what came before it is in the list.
      if (!this.loaded || !this.lastCursor) {
        this.loadAll().catch((error: unknown) => this.showError(`Comments are unavailable: ${(error as Error).message}`))
      }
    })
    source.addEventListener('comment', (event) => {
      const message = event as MessageEvent<string>
      this.lastCursor = message.lastEventId || this.lastCursor
      this.add(JSON.parse(message.data) as Comment, true)
      this.render()
    })
    // Reconnects are ours, not EventSource's: it would reuse the first URL (no cursor if the page
    // had none yet), and it gives up for good on an answer that is not an event stream (a 503).
    source.addEventListener('error', () => {
      source.close()
      const delay = this.retryMs
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2)
      setTimeout(() => {
        if (this.source === source) this.connect()
      }, delay)
    })
  }

  private showError(message: string): void {
    this.options.error.textContent = message
    this.options.error.hidden = false
  }

  private renderComment(comment: Comment): HTMLLIElement {
    const item = document.createElement('li')
    item.className = 'comment'
    item.dataset.commentId = comment.id
    if (comment.at !== null) {
      const at = comment.at
      const time = document.createElement('button')
      time.type = 'button'
      time.className = 'at'
      time.textContent = formatMediaTime(at)
      time.title = 'Play from here'
      time.addEventListener('click', () => this.options.seek(at))
      item.append(time)
    }

    const author = document.createElement('span')
    author.className = 'author'
    author.textContent = comment.author
    const text = document.createElement('span')
    text.className = 'text'
    text.textContent = comment.data
    item.append(author, text)
    return item
  }

  private async submit(): Promise<void> {
    const {author, text, submit, error} = this.options
    const data = text.value.trim()
    const name = author.value.trim()
    if (!data || !name) return
    if (this.pending?.data !== data || this.pending.author !== name) {
      const playhead = this.options.playheadSeconds()
      this.pending = {id: newCommentId(), author: name, data, at: Number.isFinite(playhead) ? Math.round(playhead * 1000) / 1000 : null}
    }

    submit.disabled = true
    error.hidden = true
    try {
      const comment = await postComment({...this.pending, video_id: this.options.videoId})
      this.pending = undefined
      text.value = ''
      try {
        localStorage.setItem(AUTHOR_KEY, name)
      } catch {
        // Not remembered; nothing else depends on it.
      }

      this.add(comment, true)
      this.render()
    } catch (caught) {
      this.showError(caught instanceof ApiError ? caught.message : 'Could not post the comment: check the connection and try again.')
    } finally {
      submit.disabled = false
    }
  }
}
