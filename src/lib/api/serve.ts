/** `startApiServer`: opens the catalog, builds the API and listens; `close()` finishes in-flight requests. */
import type {CloudFrontSigning, TokenSigning} from '../cdn/sign.js'
import {openCatalog} from '../catalog/connection.js'
import type {StorageConfig} from '../storage/open.js'
import type {CatalogOptions} from '../catalog/service.js'
import {loadDeviceProfiles} from './device-profiles.js'
import {listenError} from '../system-errors.js'
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
}

export interface RunningServer {
  url: string
  catalog: string
  close(): Promise<void>
}

export async function startApiServer(options: ServeOptions): Promise<RunningServer> {
  const deviceProfiles = await loadDeviceProfiles(options.deviceProfilesFile)
  const cors = parseCorsOrigins(options.corsOrigins)
  const catalog = await openCatalog({url: options.db, dataDir: options.dataDir})
  try {
    const {app} = await buildApiServer({
      catalog,
      deviceProfiles,
      publicUrl: options.publicUrl,
      logLevel: options.logLevel,
      mediaBaseUrl: options.mediaBaseUrl,
      tokenSigning: options.tokenSigning,
      cloudFrontSigning: options.cloudFrontSigning,
      storageConfig: options,
      cors,
      commentPollMs: options.commentPollMs,
      heartbeatMs: options.heartbeatMs,
      commentsPerMinute: options.commentsPerMinute,
      trustProxy: options.trustProxy,
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

        await catalog.close()
      },
    }
  } catch (error) {
    await catalog.close()
    throw error
  }
}
