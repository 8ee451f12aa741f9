/** Catalog tables as kysely sees them. Times are ISO-8601 UTC strings in both SQLite and MySQL. */
import type {Generated} from 'kysely'

export type VideoStatus = 'processing' | 'ready' | 'live' | 'ended' | 'failed'

export interface VideosTable {
  id: string
  title: string
  status: VideoStatus
  duration_seconds: number
  /** Where the package lives: an absolute directory for local media, or a storage URI. */
  package_location: string
  /** The package's livectl-package.json, as JSON text. */
  package_manifest: string | null
  /** Why the video failed (status failed), in words; null otherwise. */
  status_reason: string | null
  /** The ingest node that runs (or ran) the video live; null for VOD. */
  ingest_node: string | null
  /** The low-latency origin's base URL for this video while it is live (playlists at BASE/master.m3u8, BASE/manifest.mpd). */
  live_origin_url: string | null
  /** How far its VOD job has got (0..1) while processing; null otherwise. */
  progress: number | null
  created_at: string
  updated_at: string
}

export interface CommentsTable {
  /** Server order: the cursor for pagination. */
  seq: Generated<number>
  /** The client's idempotency id, or one the server made. */
  id: string
  video_id: string
  author: string
  data: string
  /** Seconds of media time the comment refers to; null for comments posted without one. */
  at_seconds: number | null
  created_at: string
}

export interface StreamKeysTable {
  id: string
  name: string
  /** SHA-256 of the key; the key itself is shown once and never stored. */
  key_hash: string
  created_at: string
  revoked_at: string | null
}

export interface CatalogSchema {
  videos: VideosTable
  comments: CommentsTable
  stream_keys: StreamKeysTable
}
