/** `startApiServer`: opens the catalog, builds the API and listens; `close()` finishes in-flight requests. */
import path from 'node:path'

import type {CloudFrontSigning, TokenSigning} from '../cdn/sign.js'
import {type CatalogOptions, catalogOptions, openCatalog} from '../catalog/connection.js'
import {type StorageConfig, storageConfigOf} from '../storage/open.js'
import {loadDeviceProfiles} from './device-profiles.js'
import {listenError} from '../system-errors.js'
import {createJobSubmitter} from '../jobs/submit.js'
import type {X264Preset} from '../media/encoder-settings.js'
import {buildApiServer} from './app.js'
import {parseCorsOrigins} from './cors.js'

export interface ServeOptions extends CatalogOptions, StorageConfig {
  mediaBaseUrl?: string
  tokenSigning?: TokenSigning
  cloudFrontSigning?: CloudFrontSigning
  host: string
  port: number
  publicUrl?: string
  deviceProfilesFile?: string
  /** --cors-origins: "*", "none", or a list of origins (see cors.ts). */
  corsOrigins?: string
  /** How often comment streams look for comments stored through other replicas. */
  commentPollMs?: number
  heartbeatMs?: number
  /** Comments one client may post per minute (0: no limit). */
  commentsPerMinute?: number
  trustProxy?: boolean
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug'
  /** How long shutdown waits for requests in flight before closing their connections. */
  shutdownTimeoutMs?: number
  /** The job queue (redis://...): uploads' jobs go there, and /metrics shows its depth. */
  queueUrl?: string
  /** POST /videos is there only with a token. */
  uploads?: {
    token: string
    /** Storage for uploaded recordings [default: DATA_DIR/uploads]. */
    storeTo?: string
    /** Where their packages are published [default: DATA_DIR/media]. */
    publishTo?: string
    limitBytes?: number
    /** The jobs' settings [default: the job spec's]. */
    ladder?: string
    preset?: X264Preset
    segmentDurationSeconds?: number
  }
}

/** 4 GiB: a long 1080p recording. */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 4 * 1024 ** 3

export interface RunningServer {
  url: string
  catalog: string
  close(): Promise<void>
}

export async function startApiServer(options: ServeOptions): Promise<RunningServer> {
  const deviceProfiles = await loadDeviceProfiles(options.deviceProfilesFile)
  const cors = parseCorsOrigins(options.corsOrigins)
  const catalog = await openCatalog(catalogOptions(options))
  const dataDir = path.resolve(options.dataDir)
  const storageConfig = storageConfigOf(options)
  const submitter = options.uploads
    ? createJobSubmitter({
        queueUrl: options.queueUrl,
        // Jobs in this process write their status through the server's own catalog connection.
        environment: {dataDir, db: options.db, ...storageConfig, catalog},
      })
    : undefined
  try {
    const {app} = await buildApiServer({
      catalog,
      deviceProfiles,
      publicUrl: options.publicUrl,
      logLevel: options.logLevel,
      mediaBaseUrl: options.mediaBaseUrl,
      tokenSigning: options.tokenSigning,
      cloudFrontSigning: options.cloudFrontSigning,
      storageConfig,
      cors,
      commentPollMs: options.commentPollMs,
      heartbeatMs: options.heartbeatMs,
      commentsPerMinute: options.commentsPerMinute,
      trustProxy: options.trustProxy,
      queueUrl: options.queueUrl,
      ...(options.uploads && submitter
        ? {
            uploads: {
              token: options.uploads.token,
              submitter,
              storeTo: options.uploads.storeTo ?? path.join(dataDir, 'uploads'),
              publishTo: options.uploads.publishTo ?? path.join(dataDir, 'media'),
              storageConfig,
              spoolDir: path.join(dataDir, 'uploads-spool'),
              limitBytes: options.uploads.limitBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES,
              ladder: options.uploads.ladder,
              preset: options.uploads.preset,
              segmentDurationSeconds: options.uploads.segmentDurationSeconds,
            },
          }
        : {}),
    })
    let address: string
    try {
      address = await app.listen({host: options.host, port: options.port})
    } catch (error) {
      await app.close()
      throw listenError(error, 'API server', options.host, options.port, '--port')
    }

    return {
      url: address,
      catalog: catalog.display,
      close: async () => {
        // In-flight requests finish; a client that stops reading does not hold the shutdown hostage.
        const force = setTimeout(() => app.server.closeAllConnections(), options.shutdownTimeoutMs ?? 10_000)
        // A keep-alive connection whose response finishes during shutdown is closed as soon as it is idle.
        const sweep = setInterval(() => app.server.closeIdleConnections(), 100)
        force.unref()
        try {
          await app.close()
        } finally {
          clearTimeout(force)
          clearInterval(sweep)
        }

        await submitter?.close()
        await catalog.close()
      },
    }
  } catch (error) {
    await submitter?.close()
    await catalog.close()
    throw error
  }
}
