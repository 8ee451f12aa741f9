/**
 * What the route modules share: the catalog, a short-lived cache of videos with their packages,
 * the URLs handed to players (signed when configured), the storages packages live in, the live
 * comment feed and the metrics. Built once per server by the app factory.
 */
import type {FastifyRequest} from 'fastify'

import type {CommentFeed} from '../catalog/comment-feed.js'
import type {Catalog} from '../catalog/connection.js'
import {findVideoWithPackage, type VideoWithPackage} from '../catalog/videos.js'
import {type CloudFrontSigning, signCloudFrontUrl, signUrlWithToken, type TokenSigning} from '../cdn/sign.js'
import {openStorage, type StorageConfig} from '../storage/open.js'
import type {Storage} from '../storage/storage.js'
import type {CorsPolicy} from './cors.js'
import type {DeviceProfiles} from './device-profiles.js'
import {HttpError} from './http-errors.js'
import type {ApiMetrics} from './metrics.js'
import type {WebAssets} from './web-assets.js'

export interface ApiContext {
  catalog: Catalog
  metrics: ApiMetrics
  profiles: DeviceProfiles
  feed: CommentFeed
  videos: VideoCache
  urls: MediaUrls
  storages: PackageStorages
  cors: CorsPolicy
  web: WebAssets
  /** Interval of the SSE heartbeat comment that keeps proxies from closing idle streams. */
  heartbeatMs: number
  /** Comments one client may post per minute; 0 for no limit. */
  commentsPerMinute: number
  /** Starts migrating the catalog again when `error` says its schema is gone. */
  repairIfSchemaMissing(error: unknown): void
  /** The job queue whose depth /metrics reports, when there is one. */
  queueUrl?: string
}

/** Videos with their packages, kept for `ttlMs` (a live package changes as segments arrive). */
export class VideoCache {
  private readonly entries = new Map<string, {video: VideoWithPackage; expires: number}>()

  constructor(
    private readonly catalog: Catalog,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The video, or a 404. */
  async get(id: string): Promise<VideoWithPackage> {
    const cached = this.entries.get(id)
    if (cached && cached.expires > Date.now()) return cached.video
    const video = await findVideoWithPackage(this.catalog, id)
    if (!video) throw new HttpError(404, 'not_found', `Unknown video "${id}"`)
    if (this.entries.size >= this.maxEntries) this.entries.clear()
    this.entries.set(id, {video, expires: Date.now() + this.ttlMs})
    return video
  }
}

export interface MediaUrlOptions {
  /** CDN (or storage) base of published media: URLs become BASE/VIDEO_ID/FILE. Default: this server's /media. */
  mediaBaseUrl?: string
  /** Base of URLs handed out, e.g. https://video.example.com; default: from the request. */
  publicUrl?: string
  tokenSigning?: TokenSigning
  cloudFrontSigning?: CloudFrontSigning
}

/** The URLs handed to players: this server's /media, or a CDN, signed when configured. */
export class MediaUrls {
  constructor(private readonly options: MediaUrlOptions) {}

  baseUrl(request: FastifyRequest): string {
    return this.options.publicUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`
  }

  mediaBase(request: FastifyRequest): string {
    return this.options.mediaBaseUrl?.replace(/\/$/, '') ?? `${this.baseUrl(request)}/media`
  }

  /** Origin media comes from when it is not this server (a CDN), for the page's Content-Security-Policy. */
  get externalMediaOrigin(): string | undefined {
    if (!this.options.mediaBaseUrl) return undefined
    try {
      return new URL(this.options.mediaBaseUrl).origin
    } catch {
      return undefined
    }
  }

  /** Signed URLs change once a minute, not on every request, so answers stay cacheable. */
  signingWindow(): number {
    return Math.floor(Date.now() / 60_000) * 60
  }

  media(request: FastifyRequest, videoId: string, file: string, window = this.signingWindow()): string {
    const url = `${this.mediaBase(request)}/${videoId}/${file}`
    if (this.options.cloudFrontSigning && this.options.mediaBaseUrl) return signCloudFrontUrl(url, this.options.cloudFrontSigning, window)
    if (this.options.tokenSigning) return signUrlWithToken(url, this.options.tokenSigning, window)
    return url
  }
}

/** One opened storage per package location; a location that fails to open is not remembered. */
export class PackageStorages {
  private readonly opened = new Map<string, Promise<Storage>>()

  constructor(
    private readonly config: StorageConfig,
    private readonly maxEntries = 1000,
  ) {}

  open(location: string): Promise<Storage> {
    let opening = this.opened.get(location)
    if (!opening) {
      if (this.opened.size >= this.maxEntries) this.opened.clear()
      opening = openStorage(location, this.config)
      opening.catch(() => this.opened.delete(location))
      this.opened.set(location, opening)
    }

    return opening
  }
}
