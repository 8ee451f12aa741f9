/**
 * Comments: idempotent posting (a repeated client id returns the first stored comment, never a
 * duplicate, even under concurrent posts) and cursor pagination in server order.
 */
import {UserError} from '../errors.js'
import type {Catalog} from './connection.js'
import {assertValidId, isValidId, newId} from './ids.js'
import {VideoNotFoundError} from './videos.js'

export const COMMENT_LIMITS = {dataMin: 1, dataMax: 5000, authorMin: 1, authorMax: 100} as const

export interface Comment {
  id: string
  video_id: string
  author: string
  data: string
  created_at: string
}

export interface PostCommentInput {
  /** The client's id: posting the same id again returns the first stored comment. */
  id?: string
  video_id: string
  author: string
  data: string
}

export interface PostCommentResult {
  comment: Comment
  /** False when the id had been posted before and the stored comment is returned. */
  created: boolean
}

/** Length in Unicode code points, as JSON Schema's maxLength counts. */
const codePoints = (text: string) => [...text].length

export function validateCommentInput(input: PostCommentInput): void {
  if (input.id !== undefined && !isValidId(input.id)) throw new UserError(`Invalid comment id ${JSON.stringify(input.id)}: use 1-64 letters, digits, "-" or "_"`)
  assertValidId(input.video_id)
  const author = codePoints(input.author)
  if (author < COMMENT_LIMITS.authorMin || author > COMMENT_LIMITS.authorMax) throw new UserError(`author must be 1 to ${COMMENT_LIMITS.authorMax} characters (got ${author})`)
  const data = codePoints(input.data)
  if (data < COMMENT_LIMITS.dataMin || data > COMMENT_LIMITS.dataMax) throw new UserError(`data must be 1 to ${COMMENT_LIMITS.dataMax} characters (got ${data})`)
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

async function findComment(catalog: Catalog, id: string): Promise<Comment | undefined> {
  return catalog.db.selectFrom('comments').select(['id', 'video_id', 'author', 'data', 'created_at']).where('id', '=', id).executeTakeFirst()
}

export async function postComment(catalog: Catalog, input: PostCommentInput): Promise<PostCommentResult> {
  validateCommentInput(input)
  const replay = async (): Promise<PostCommentResult> => {
    const stored = await findComment(catalog, input.id as string)
    if (!stored) throw new Error(`comment ${input.id} reported as duplicate but not found`)
    if (stored.video_id !== input.video_id || stored.author !== input.author || stored.data !== input.data) {
      throw new CommentConflictError(`Comment id "${input.id}" was already used for a different comment`, {hint: 'Use a new id for a new comment.'})
    }

    return {comment: stored, created: false}
  }

  if (input.id !== undefined && (await findComment(catalog, input.id))) return replay()

  const comment: Comment = {
    id: input.id ?? newId(),
    video_id: input.video_id,
    author: input.author,
    data: input.data,
    created_at: new Date().toISOString(),
  }
  try {
    // The foreign key rejects an unknown video in the same statement (no check-then-insert race).
    await catalog.db.insertInto('comments').values(comment).execute()
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new VideoNotFoundError(input.video_id)
    // A concurrent post with the same id won the race: answer like any other repeat.
    if (input.id !== undefined && isDuplicateKey(error)) return replay()
    throw error
  }

  return {comment, created: true}
}

export interface CommentPage {
  comments: Comment[]
  /** Opaque cursor for the next page, or null when there is none. */
  next: string | null
}

const encodeCursor = (seq: number) => Buffer.from(`c${seq}`).toString('base64url')

function decodeCursor(cursor: string): number {
  const decoded = Buffer.from(cursor, 'base64url').toString()
  const match = /^c(\d{1,15})$/.exec(decoded)
  if (!match) throw new UserError(`Invalid cursor ${JSON.stringify(cursor)}`)
  return Number(match[1])
}

/** Oldest first. */
export async function listComments(catalog: Catalog, options: {videoId: string; after?: string; limit?: number}): Promise<CommentPage> {
  assertValidId(options.videoId)
  const video = await catalog.db.selectFrom('videos').select('id').where('id', '=', options.videoId).executeTakeFirst()
  if (!video) throw new VideoNotFoundError(options.videoId)
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200)
  let query = catalog.db
    .selectFrom('comments')
    .select(['seq', 'id', 'video_id', 'author', 'data', 'created_at'])
    .where('video_id', '=', options.videoId)
    .orderBy('seq', 'asc')
    .limit(limit + 1)
  if (options.after) query = query.where('seq', '>', decodeCursor(options.after))
  const rows = await query.execute()
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return {
    comments: page.map(({seq: _seq, ...comment}) => comment),
    next: rows.length > limit && last ? encodeCursor(Number(last.seq)) : null,
  }
}
