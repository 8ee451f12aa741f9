/// <reference lib="dom" />
/**
 * The glass-to-glass players and what runs in their page: the settings each player is tried with,
 * and the probe that reads the frame number of every frame the browser presents.
 */

/** What the probe keeps in the page (window.livectlGlass). */
export interface GlassState {
  /** [frame number, presented at (epoch ms), picture height] */
  frames: Array<[number, number, number]>
  misreads: number
  /** When the video element fired `waiting` (epoch ms). */
  waiting: number[]
  heights: Set<number>
  started: boolean
}

declare global {
  interface Window {
    livectlPlayerSettings?: unknown
    livectlGlass: GlassState
  }
}

export interface PlayerConfig {
  id: string
  player: 'hls' | 'dash'
  label: string
  /** Merged by the watch page over its own settings (window.livectlPlayerSettings). */
  settings: Record<string, unknown>
  /** Low latency from the origin, with parts (chunks) of this many seconds. */
  partSeconds?: number
  /** The stall scenario: the origin's answers held this many seconds in the middle of the push. */
  stallSeconds?: number
}

/** The players and their settings (merged by the watch page over its own via window.livectlPlayerSettings). */
export function playerConfigs(segmentSeconds: number): PlayerConfig[] {
  return [
    {id: 'hls-default', player: 'hls', label: 'hls.js, default live settings', settings: {}},
    {
      id: 'hls-low-latency', player: 'hls', label: 'hls.js, low-latency settings',
      // One target duration behind the newest listed segment, and catch up by playing faster.
      settings: {'hls.js': {lowLatencyMode: true, liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3, maxLiveSyncPlaybackRate: 1.5}},
    },
    {id: 'dash-default', player: 'dash', label: 'dash.js, default live settings', settings: {}},
    {
      id: 'dash-low-latency', player: 'dash', label: 'dash.js, low-latency settings',
      // A target 1.5 segments behind the live edge (a segment is available only once complete), with catch-up.
      settings: {'dash.js': {streaming: {delay: {liveDelay: 1.5 * segmentSeconds}, liveCatchup: {enabled: true, maxDrift: 3 * segmentSeconds, playbackRate: {min: -0.2, max: 0.5}}}}},
    },
  ]
}

/**
 * Low latency: `ingest --low-latency`; the page sees `lowLatency` in GET /videos/ID and plays the
 * origin's LL-HLS or LL-DASH with its own low-latency settings (hls.js lowLatencyMode with
 * catch-up up to 1.5x, dash.js catch-up to the MPD's latency target): nothing is set here.
 */
export function lowLatencyConfigs(partSeconds: number, withDash: boolean): PlayerConfig[] {
  return [
    {id: 'hls-ll', player: 'hls', label: `hls.js, LL-HLS (parts of ${partSeconds} s)`, settings: {}, partSeconds},
    ...(withDash ? [{id: 'dash-ll', player: 'dash' as const, label: `dash.js, LL-DASH (chunks of ${partSeconds} s)`, settings: {}, partSeconds}] : []),
  ]
}

/** The stall scenario: the low-latency players, with the origin's answers held `stallSeconds` in the middle of each push. */
export function stallConfigs(partSeconds: number, stallSeconds: number): PlayerConfig[] {
  return lowLatencyConfigs(partSeconds, true).map((config) => ({
    ...config, id: `${config.id}-stall`, label: `${config.label}, origin held ${stallSeconds} s`, stallSeconds,
  }))
}

export interface ProbeOptions {
  settings: Record<string, unknown>
  blocks: number
  bits: number
  stripFraction: number
}

/**
 * Runs in the page before its own script: sets the player settings, then reads the barcode of
 * every presented frame. Kept self-contained (it is serialised into the page).
 */
export function pageProbe({settings, blocks, bits, stripFraction}: ProbeOptions): void {
  window.livectlPlayerSettings = settings
  const state: GlassState = {frames: [], misreads: 0, waiting: [], heights: new Set(), started: false}
  window.livectlGlass = state
  const canvas = document.createElement('canvas')
  const context = canvas.getContext('2d', {willReadFrequently: true})
  const watch = (video: HTMLVideoElement) => {
    const onFrame: VideoFrameRequestCallback = (_now, metadata) => {
      const width = video.videoWidth
      const height = video.videoHeight
      if (width > 0 && height > 0 && context) {
        const strip = Math.max(2, Math.round(height * stripFraction))
        if (canvas.width !== width || canvas.height !== strip) {
          canvas.width = width
          canvas.height = strip
        }

        context.drawImage(video, 0, 0, width, strip, 0, 0, width, strip)
        // The middle row of the strip; each block's middle half, averaged.
        const row = context.getImageData(0, Math.floor(strip / 2), width, 1).data
        const level = (block: number) => {
          const from = Math.floor(((block + 0.25) * width) / blocks)
          const to = Math.max(from + 1, Math.floor(((block + 0.75) * width) / blocks))
          let sum = 0
          for (let x = from; x < to; x++) sum += row[4 * x] ?? 0
          return sum / (to - from)
        }

        let value = 0
        let valid = true
        for (let bit = 0; bit < bits; bit++) {
          const shown = level(2 * bit) > 128
          if (shown === level(2 * bit + 1) > 128) {
            valid = false
            break
          }

          if (shown) value += 2 ** bit
        }

        if (valid) {
          state.frames.push([value, performance.timeOrigin + metadata.expectedDisplayTime, height])
          state.heights.add(height)
        } else {
          state.misreads++
        }
      }

      video.requestVideoFrameCallback(onFrame)
    }

    video.requestVideoFrameCallback(onFrame)
    video.addEventListener('waiting', () => state.waiting.push(performance.timeOrigin + performance.now()))
  }

  document.addEventListener('DOMContentLoaded', () => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="player"]')
    if (video) watch(video)
  })
}
