/**
 * Comments: idempotent posting (a repeated client id returns the first stored comment, never a
 * duplicate, even under concurrent posts), cursor pagination in server order, and the reads the
 * live comment feed makes (everything after a cursor, for all videos or one).
 */
import type {Selectable} from 'kysely'

import {UserError} from '../errors.js'
import type {Catalog} from './connection.js'
import type {Comment} from '../../shared/comment.js'
import type {CommentsTable} from './schema.js'
import {assertValidId, isValidId, newId} from './ids.js'
import {VideoNotFoundError} from './videos.js'

export const COMMENT_LIMITS = {dataMin: 1, dataMax: 5000, authorMin: 1, authorMax: 100, atMaxSeconds: 10_000_000} as const

export interface PostCommentInput {
  /** The client's id: posting the same id again returns the first stored comment. */
  id?: string
  video_id: string
  author: string
  data: string
  at?: number | null
}

export interface PostCommentResult {
  comment: Comment
  /** False when the id had been posted before and the stored comment is returned. */
  created: boolean
}

/** Length in Unicode code points, as JSON Schema's maxLength counts. */
const codePoints = (text: string) => [...text].length

function validateCommentInput(input: PostCommentInput): void {
  if (input.id !== undefined && !isValidId(input.id)) throw new UserError(`Invalid comment id ${JSON.stringify(input.id)}: use 1-64 letters, digits, "-" or "_"`)
  assertValidId(input.video_id)
  const author = codePoints(input.author)
  if (author < COMMENT_LIMITS.authorMin || author > COMMENT_LIMITS.authorMax) throw new UserError(`author must be 1 to ${COMMENT_LIMITS.authorMax} characters (got ${author})`)
  const data = codePoints(input.data)
  if (data < COMMENT_LIMITS.dataMin || data > COMMENT_LIMITS.dataMax) throw new UserError(`data must be 1 to ${COMMENT_LIMITS.dataMax} characters (got ${data})`)
  if (input.at !== undefined && input.at !== null && !(Number.isFinite(input.at) && input.at >= 0 && input.at <= COMMENT_LIMITS.atMaxSeconds)) {
    throw new UserError(`at must be a number of seconds from 0 to ${COMMENT_LIMITS.atMaxSeconds} (got ${input.at})`)
  }
}

export class CommentConflictError extends UserError {}

function isDuplicateKey(error: unknown): boolean {
  const code = (error as {code?: string} | null)?.code
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as {code?: string} | null)?.code
  return code === 'ER_NO_REFERENCED_ROW_2' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
}

const encodeCursor = (seq: number) => Buffer.from(`c${seq}`).toString('base64url')

export function decodeCursor(cursor: string): number {
  const decoded = Buffer.from(cursor, 'base64url').toString()
  const match = /^c(\d{1,15})$/.exec(decoded)
  if (!match) throw new UserError(`Invalid cursor ${JSON.stringify(cursor)}`)
  return Number(match[1])
}

const COLUMNS = ['seq', 'id', 'video_id', 'author', 'data', 'at_seconds', 'created_at'] as const

/** A comments row as the queries below select it. */
export type CommentRow = Selectable<CommentsTable>

export function toComment(row: CommentRow): Comment {
  return {
    id: row.id,
    video_id: row.video_id,
    author: row.author,
    data: row.data,
    at: row.at_seconds === null ? null : Number(row.at_seconds),
    cursor: encodeCursor(Number(row.seq)),
    created_at: row.created_at,
  }
}

async function findComment(catalog: Catalog, id: string): Promise<CommentRow | undefined> {
  return catalog.db.selectFrom('comments').select(COLUMNS).where('id', '=', id).executeTakeFirst()
}

export async function postComment(catalog: Catalog, input: PostCommentInput): Promise<PostCommentResult> {
  validateCommentInput(input)
  const at = input.at ?? null
  const replay = async (): Promise<PostCommentResult> => {
    const stored = await findComment(catalog, input.id as string)
    if (!stored) throw new Error(`comment ${input.id} reported as duplicate but not found`)
    const storedAt = stored.at_seconds === null ? null : Number(stored.at_seconds)
    if (stored.video_id !== input.video_id || stored.author !== input.author || stored.data !== input.data || storedAt !== at) {
      throw new CommentConflictError(`Comment id "${input.id}" was already used for a different comment`, {hint: 'Use a new id for a new comment.'})
    }

    return {comment: toComment(stored), created: false}
  }

  if (input.id !== undefined && (await findComment(catalog, input.id))) return replay()
  // Checked before inserting although the foreign key also refuses it: a refused insert still
  // spends an auto-increment value on MySQL, and every such gap delays the live feed (comment-feed.ts).
  const video = await catalog.db.selectFrom('videos').select('id').where('id', '=', input.video_id).executeTakeFirst()
  if (!video) throw new VideoNotFoundError(input.video_id)

  const row = {
    id: input.id ?? newId(),
    video_id: input.video_id,
    author: input.author,
    data: input.data,
    at_seconds: at,
    created_at: new Date().toISOString(),
  }
  let seq: number
  try {
    // The foreign key still refuses a video deleted meanwhile, in the same statement.
    const result = await catalog.db.insertInto('comments').values(row).executeTakeFirstOrThrow()
    seq = Number(result.insertId)
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new VideoNotFoundError(input.video_id)
    // A concurrent post with the same id won the race: answer like any other repeat.
    if (input.id !== undefined && isDuplicateKey(error)) return replay()
    throw error
  }

  return {comment: toComment({...row, seq}), created: true}
}

export interface CommentPage {
  comments: Comment[]
  /** Opaque cursor for the next page, or null when there is none. */
  next: string | null
}

export async function assertVideoExists(catalog: Catalog, videoId: string): Promise<void> {
  assertValidId(videoId)
  const video = await catalog.db.selectFrom('videos').select('id').where('id', '=', videoId).executeTakeFirst()
  if (!video) throw new VideoNotFoundError(videoId)
}

/** Oldest first. */
export async function listComments(catalog: Catalog, options: {videoId: string; after?: string; limit?: number}): Promise<CommentPage> {
  await assertVideoExists(catalog, options.videoId)
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200)
  let query = catalog.db.selectFrom('comments').select(COLUMNS).where('video_id', '=', options.videoId).orderBy('seq', 'asc').limit(limit + 1)
  if (options.after) query = query.where('seq', '>', decodeCursor(options.after))
  const rows = await query.execute()
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return {
    comments: page.map(toComment),
    next: rows.length > limit && last ? encodeCursor(Number(last.seq)) : null,
  }
}

/** The highest comment sequence number stored, 0 when there is none: where a live feed starts. */
export async function latestCommentSeq(catalog: Catalog): Promise<number> {
  const row = await catalog.db.selectFrom('comments').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst()
  return Number(row?.seq ?? 0)
}

/** Comments of every video after `afterSeq`, in server order: one poll of the live feed. */
export async function commentsAfter(catalog: Catalog, afterSeq: number, limit: number): Promise<CommentRow[]> {
  return catalog.db.selectFrom('comments').select(COLUMNS).where('seq', '>', afterSeq).orderBy('seq', 'asc').limit(limit).execute()
}

/** One video's comments with afterSeq < seq <= uptoSeq, in server order: what a reconnecting stream missed. */
export async function videoCommentsBetween(catalog: Catalog, videoId: string, afterSeq: number, uptoSeq: number, limit: number): Promise<CommentRow[]> {
  return catalog.db
    .selectFrom('comments')
    .select(COLUMNS)
    .where('video_id', '=', videoId)
    .where('seq', '>', afterSeq)
    .where('seq', '<=', uptoSeq)
    .orderBy('seq', 'asc')
    .limit(limit)
    .execute()
}
