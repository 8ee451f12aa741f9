declare module 'mpd-parser' {
  export interface MpdSegment {
    uri: string
    resolvedUri: string
    duration: number
    map?: {uri: string; resolvedUri: string}
  }

  export interface MpdPlaylist {
    attributes: Record<string, unknown> & {NAME?: string; BANDWIDTH?: number; CODECS?: string}
    segments: MpdSegment[]
  }

  export interface MpdManifest {
    playlists: MpdPlaylist[]
    mediaGroups: {AUDIO?: Record<string, Record<string, {playlists: MpdPlaylist[]}>>}
    duration?: number
    endList?: boolean
  }

  const mpd: {parse(manifest: string, options?: {manifestUri?: string}): MpdManifest}
  export default mpd
}
