declare module 'm3u8-parser' {
  export interface M3u8Segment {
    uri: string
    duration: number
    map?: {uri: string}
  }

  export interface M3u8Playlist {
    uri: string
    attributes: Record<string, unknown> & {
      BANDWIDTH?: number
      'AVERAGE-BANDWIDTH'?: number
      CODECS?: string
      RESOLUTION?: {width: number; height: number}
      AUDIO?: string
    }
  }

  export interface M3u8Manifest {
    playlists?: M3u8Playlist[]
    mediaGroups?: {AUDIO?: Record<string, Record<string, {uri?: string; default?: boolean}>>}
    segments: M3u8Segment[]
    endList?: boolean
    targetDuration?: number
    mediaSequence?: number
  }

  export class Parser {
    manifest: M3u8Manifest
    push(chunk: string): void
    end(): void
  }

  const m3u8: {Parser: typeof Parser}
  export default m3u8
}
