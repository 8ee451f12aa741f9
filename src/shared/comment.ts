/**
 * A comment as the API answers it (GET /videos/ID/comments, the comment stream) and the watch page
 * reads it: one definition for the server (src/lib/catalog) and the page (src/web). Types only.
 */
export interface Comment {
  id: string
  video_id: string
  author: string
  data: string
  /** Seconds of media time the comment refers to (the player's position when it was written), or null. */
  at: number | null
  /** Server order: pass it as `after` (or receive it as the SSE event id) to get what came after. */
  cursor: string
  created_at: string
}
