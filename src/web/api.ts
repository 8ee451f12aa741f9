/** The livectl API as the watch page uses it (same origin). */
import type {Comment} from '../shared/comment.js'
import type {Rendition} from './device.js'

export interface VideoInfo {
  id: string
  title: string
  status: 'processing' | 'ready' | 'live' | 'ended' | 'failed'
  durationSeconds: number
  hlsUrl: string | null
  dashUrl: string | null
  /** The URLs are a live video's low-latency origin (LL-HLS, LL-DASH). */
  lowLatency?: boolean
  renditions: Rendition[]
}

/** An answer other than 2xx, with the message of the API's error envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, {...init, headers: {accept: 'application/json', ...init?.headers}})
  const text = await response.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }

  if (!response.ok) {
    const message = (body as {error?: {message?: string}} | undefined)?.error?.message ?? `HTTP ${response.status}`
    throw new ApiError(response.status, message)
  }

  return body as T
}

export const getVideo = (id: string) => request<VideoInfo>(`/videos/${encodeURIComponent(id)}`)

/** The rendition /video/time gives this device (the server's device table decides), or undefined for a device it does not know. */
export async function deviceRendition(videoId: string, device: string): Promise<Rendition | undefined> {
  try {
    const frames = await request<Array<{type: string; rendition: string; width?: number; height?: number; bandwidth: number}>>(
      `/video/time?id=${encodeURIComponent(videoId)}&device=${encodeURIComponent(device)}&offset=0&duration=1`,
    )
    const video = frames.find((frame) => frame.type === 'video')
    return video ? {name: video.rendition, width: video.width, height: video.height, bandwidth: video.bandwidth} : undefined
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) return undefined
    throw error
  }
}

/** Every comment of a video, oldest first, and the cursor of the last one. */
export async function listAllComments(videoId: string, maxPages: number): Promise<{comments: Comment[]; last?: string}> {
  const comments: Comment[] = []
  let after: string | null = null
  for (let page = 0; page < maxPages; page++) {
    const query: string = `/video/comments?video_id=${encodeURIComponent(videoId)}&limit=200${after ? `&after=${encodeURIComponent(after)}` : ''}`
    const result: {comments: Comment[]; next: string | null} = await request(query)
    comments.push(...result.comments)
    after = result.next
    if (!after) break
  }

  return {comments, last: comments.at(-1)?.cursor}
}

export const postComment = (body: {id: string; video_id: string; author: string; data: string; at: number | null}) =>
  request<Comment>('/comment', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})
