/** `livectl comment`: post and list against the local catalog, or a running server with `api`. */
import {ExternalError, ServiceUnavailableError, UserError} from '../errors.js'
import type {Comment} from '../../shared/comment.js'
import {type CommentPage, listComments, postComment, type PostCommentResult} from './comments.js'
import {type CatalogOptions, catalogOptions, withCatalog} from './connection.js'

export interface CommentTarget extends CatalogOptions {
  /** Base URL of a running `livectl serve`; when set, the catalog is not opened. */
  api?: string
}

async function callApi<T>(method: 'GET' | 'POST', url: URL, body?: unknown): Promise<{status: number; body: T}> {
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? {} : {'content-type': 'application/json'},
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    })
  } catch (error) {
    throw new ServiceUnavailableError(`Cannot reach the livectl API at ${url.origin}: ${(error as Error).message}`, {cause: error})
  }

  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ExternalError(`The API at ${url.origin} answered ${response.status} with non-JSON: ${text.slice(0, 200)}`)
  }

  if (response.status >= 400) {
    const message = (parsed as {error?: {message?: string}}).error?.message ?? `HTTP ${response.status}`
    if (response.status === 503) throw new ServiceUnavailableError(`The API is unavailable: ${message}`)
    if (response.status < 500) throw new UserError(message)
    throw new ExternalError(`The API failed: ${message}`)
  }

  return {status: response.status, body: parsed as T}
}

function apiUrl(base: string, pathname: string): URL {
  try {
    return new URL(pathname, base.endsWith('/') ? base : `${base}/`)
  } catch {
    throw new UserError(`--api is not a valid URL: ${base}`)
  }
}

export interface PostCommentOptions extends CommentTarget {
  videoId: string
  data: string
  author: string
  id?: string
  /** Seconds of media time the comment refers to. */
  at?: number
}

export async function postCommentTo(options: PostCommentOptions): Promise<PostCommentResult> {
  const input = {video_id: options.videoId, data: options.data, author: options.author, ...(options.id ? {id: options.id} : {}), ...(options.at === undefined ? {} : {at: options.at})}
  if (options.api) {
    const {status, body} = await callApi<Comment>('POST', apiUrl(options.api, 'comment'), input)
    return {comment: body, created: status === 201}
  }

  return withCatalog(catalogOptions(options), (catalog) => postComment(catalog, input))
}

export interface ListCommentsOptions extends CommentTarget {
  videoId: string
  after?: string
  limit?: number
}

export async function listCommentsFrom(options: ListCommentsOptions): Promise<CommentPage> {
  if (options.api) {
    const url = apiUrl(options.api, 'video/comments')
    url.searchParams.set('video_id', options.videoId)
    if (options.after) url.searchParams.set('after', options.after)
    if (options.limit) url.searchParams.set('limit', String(options.limit))
    return (await callApi<CommentPage>('GET', url)).body
  }

  return withCatalog(catalogOptions(options), (catalog) => listComments(catalog, options))
}
