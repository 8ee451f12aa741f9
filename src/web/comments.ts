/**
 * The comments beside the player: everything stored, then new ones as they arrive (server-sent
 * events from the last cursor, so nothing posted in between is lost), placed on the timeline.
 * Comment text is only ever set with textContent.
 */
import {ApiError, type Comment, listAllComments, postComment} from './api.js'
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

/** A client id for idempotent posting (crypto.randomUUID needs a secure context; this does not). */
function newCommentId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return `w${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`
}

export class CommentsPanel {
  private readonly entries = new Map<string, Entry>()
  private source: EventSource | undefined
  /** The id of a post that failed, reused while the text stays the same: a retry never doubles it. */
  private pending: {id: string; text: string} | undefined

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

  async start(): Promise<void> {
    const {comments, last} = await listAllComments(this.options.videoId)
    for (const comment of comments) this.add(comment, false)
    this.render()
    this.connect(last)
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
  }

  private add(comment: Comment, fresh: boolean): void {
    if (this.entries.has(comment.id)) return
    this.entries.set(comment.id, {comment, fresh})
  }

  private connect(after: string | undefined): void {
    const query = new URLSearchParams({video_id: this.options.videoId})
    if (after) query.set('after', after)
    // EventSource reconnects by itself and sends the last event id: the server resumes from there.
    this.source = new EventSource(`/video/comments/stream?${query}`)
    this.source.addEventListener('comment', (event) => {
      this.add(JSON.parse((event as MessageEvent<string>).data) as Comment, true)
      this.render()
    })
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
    if (this.pending?.text !== data) this.pending = {id: newCommentId(), text: data}
    submit.disabled = true
    error.hidden = true
    try {
      const playhead = this.options.playheadSeconds()
      const comment = await postComment({
        id: this.pending.id,
        video_id: this.options.videoId,
        author: name,
        data,
        at: Number.isFinite(playhead) ? Math.round(playhead * 1000) / 1000 : null,
      })
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
      error.textContent = caught instanceof ApiError ? caught.message : 'Could not post the comment: check the connection and try again.'
      error.hidden = false
    } finally {
      submit.disabled = false
    }
  }
}
