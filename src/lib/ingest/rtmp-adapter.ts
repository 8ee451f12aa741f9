/**
 * node-media-server, behind one file: the only place that knows its events, its internals (the
 * context of broadcasts, its logger, its store's signal hooks) and its quirks. The rest of ingest
 * sees an RTMP server that asks whether to accept a push, says when an accepted push flows and
 * when its connection closes; each push can end its broadcast for the encoder pulling it.
 */
import {createRequire} from 'node:module'
import type {Socket} from 'node:net'

import type {NmsSession} from 'node-media-server'

import {ExternalError} from '../errors.js'
import {listenError} from '../system-errors.js'

export interface RtmpPush {
  /** node-media-server's session id. */
  id: string
  /** "live" in rtmp://HOST:PORT/live/KEY. */
  app: string
  /** The stream key as pushed. */
  streamName: string
  /** "/live/KEY": where the encoder pulls from. */
  streamPath: string
  ip: string
  /** Bytes received so far. */
  bytesIn(): number
  /** Refuses or drops the push. */
  close(): void
  /** Ends the broadcast at this push's path for everyone pulling it: the encoder sees an end of stream. */
  endPulls(): void
  /** Forgets the finished broadcast at this push's path, so the next push to it is a new one. */
  forget(): void
}

export interface RtmpServerOptions {
  host: string
  port: number
  /** node-media-server's own state (its JSON store). */
  stateDir: string
  log: (line: string) => void
  /** Decides on a new push: undefined accepts it, a string refuses it with that reason. */
  onPush: (push: RtmpPush) => string | undefined
  /** An accepted push is flowing (its media can be pulled now). */
  onFlowing: (push: RtmpPush) => void
  /** An accepted push's connection closed (the broadcaster left or dropped). */
  onClosed: (push: RtmpPush) => void
}

export interface RtmpServer {
  stop(): Promise<void>
}

const require = createRequire(import.meta.url)

interface NmsContext {
  broadcasts: Map<string, {subscribers: Map<string, {close(): void}>; _finishPublish?: () => void}>
  /** Shared by every node-media-server in the process (tests run several): listeners must be removed on stop. */
  eventEmitter: {on(event: string, listener: (session: NmsSession) => void): void; off(event: string, listener: (session: NmsSession) => void): void}
}

function toPush(session: NmsSession, context: NmsContext): RtmpPush {
  const withBytes = session as NmsSession & {inBytes?: number}
  const streamPath = session.streamPath
  return {
    id: session.id,
    app: session.streamApp,
    streamName: session.streamName,
    streamPath,
    ip: session.ip,
    bytesIn: () => withBytes.inBytes ?? 0,
    close: () => session.close(),
    endPulls: () => {
      for (const subscriber of context.broadcasts.get(streamPath)?.subscribers.values() ?? []) subscriber.close()
    },
    forget: () => context.broadcasts.get(streamPath)?._finishPublish?.(),
  }
}

export async function startRtmpServer(options: RtmpServerOptions): Promise<RtmpServer> {
  const {default: NodeMediaServer} = await import('node-media-server')
  const logger = require('node-media-server/src/core/logger.js') as {level: string; log(message: string, level?: string): void}
  const context = require('node-media-server/src/core/context.js') as NmsContext
  // Its logger writes to stdout (a banner on every start), which under --json must carry only the
  // result: its warnings and errors go to livectl's log instead, the rest nowhere.
  logger.log = (message, level = 'info') => {
    if (level === 'warn' || level === 'error') options.log(`node-media-server: ${message}`)
  }

  const nms = new NodeMediaServer({
    bind: options.host,
    rtmp: {port: options.port, chunk_size: 60_000, gop_cache: true, ping: 30, ping_timeout: 60},
    store: {path: options.stateDir},
  })
  const server = nms.rtmpServer.tcpServer
  if (!server) throw new ExternalError('The RTMP server did not start')
  // Its events go through one emitter shared by every instance in the process: each server
  // answers only for the connections it accepted itself.
  const socketOf = (session: NmsSession) => (session as unknown as {socket?: Socket & {server?: unknown}}).socket
  const ours = (session: NmsSession) => socketOf(session)?.server === server
  // Refusing in prePublish closes the socket, but node-media-server still fires postPublish for it:
  // only pushes accepted here go on.
  const accepted = new Set<string>()
  const onPrePublish = (session: NmsSession) => {
    if (!ours(session)) return
    const push = toPush(session, context)
    const refusal = options.onPush(push)
    if (refusal === undefined) accepted.add(session.id)
    else session.close()
  }

  const onPostPublish = (session: NmsSession) => {
    if (!ours(session) || !accepted.has(session.id)) return
    const push = toPush(session, context)
    socketOf(session)?.once('close', () => {
      accepted.delete(session.id)
      options.onClosed(push)
    })
    options.onFlowing(push)
  }

  context.eventEmitter.on('prePublish', onPrePublish)
  context.eventEmitter.on('postPublish', onPostPublish)
  const forgetListeners = () => {
    context.eventEmitter.off('prePublish', onPrePublish)
    context.eventEmitter.off('postPublish', onPostPublish)
  }

  const running = nms.run()
  // node-media-server exits the whole process when it cannot listen (a port already taken):
  // take that decision back before the error is emitted (on the next tick), and report it.
  server.removeAllListeners('error')
  const listening = server.listening
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => {
        server.once('listening', resolve)
        server.once('error', reject)
      })
  try {
    // Both at once: the listen error can come while node-media-server is still opening its store.
    await Promise.all([running, listening])
  } catch (error) {
    // Let it finish opening its store, or stop() would leave it open (and the process running).
    await running.catch(() => undefined)
    await nms.stop()
    forgetListeners()
    throw listenError(error, 'RTMP server', options.host, options.port, '--rtmp-port')
  }

  // Its store answers SIGINT/SIGTERM by flushing and sending the signal to the process again,
  // which the command takes for a second Ctrl-C and exits without ending the live streams. The
  // store is closed by stop() instead.
  nms.store?._removeExitHooks?.()

  return {
    stop: async () => {
      forgetListeners()
      await nms.stop()
    },
  }
}
