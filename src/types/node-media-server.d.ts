declare module 'node-media-server' {
  export interface NmsSession {
    id: string
    ip: string
    streamApp: string
    streamName: string
    streamPath: string
    streamQuery: Record<string, string>
    close(): void
  }

  export interface NmsConfig {
    bind?: string
    rtmp?: {port: number; chunk_size?: number; gop_cache?: boolean; ping?: number; ping_timeout?: number}
    store?: {path?: string}
    [key: string]: unknown
  }

  export default class NodeMediaServer {
    constructor(config: NmsConfig)
    on(event: 'prePublish' | 'postPublish' | 'donePublish' | 'prePlay' | 'postPlay' | 'donePlay', listener: (session: NmsSession) => void): void
    run(): Promise<void>
    stop(): Promise<void>
    rtmpServer: {tcpServer?: import('node:net').Server}
    /** Its JSON store; _removeExitHooks takes back the SIGINT/SIGTERM/exit handlers it installs when opened. */
    store?: {_removeExitHooks?(): void}
  }
}

declare module 'node-media-server/src/core/logger.js' {
  const logger: {level: string; log(message: string, level?: string): void}
  export default logger
}
