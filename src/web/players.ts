/**
 * One small interface over the three ways the page plays video: hls.js (wherever Media Source
 * works, even where the browser also claims native HLS), dash.js (`?player=dash`), and the
 * browser's own HLS (iOS Safari, where hls.js cannot run). The page caps every player at the
 * device's rendition and the player's size; a viewer's choice in the quality menu is honoured
 * within that cap.
 */
import type * as DashJs from 'dashjs'
import type HlsJs from 'hls.js'

import type {Rendition} from './device.js'
import {shortSide} from './device.js'
import {nextEdgeDecision} from './latency.js'
import {createRecoveryBudget} from './recovery.js'

declare const Hls: typeof HlsJs
declare const dashjs: typeof DashJs

export type PlayerKind = 'hls.js' | 'dash.js' | 'native'

export interface PlayerOptions {
  video: HTMLVideoElement
  url: string
  /** The largest rendition the device may play (undefined: no device cap). */
  cap?: Rendition
  /** A low-latency live stream: play close to the edge, catching up by playback rate. */
  lowLatency?: boolean
  /** Player settings merged over livectl's (for embedders and the glass-to-glass benchmark). */
  settings?: Record<string, unknown>
  onError(message: string): void
  /** The live stream ended (the playlist got its end tag). */
  onEnded?(): void
}

export interface Player {
  readonly kind: PlayerKind
  /** Play this rendition only, or let the player adapt ('auto'). */
  select(rendition: Rendition | 'auto'): void
  /** Jump to the live edge. */
  goLive(): void
  /** Seconds behind the live edge, where the player knows. */
  latencySeconds(): number | undefined
  destroy(): void
}

/** Loads a player's script (served by livectl from the installed npm package) once. */
const loaded = new Map<string, Promise<void>>()
export function loadScript(src: string): Promise<void> {
  let loading = loaded.get(src)
  if (!loading) {
    loading = new Promise<void>((resolve, reject) => {
      const script = document.createElement('script')
      script.src = src
      script.onload = () => resolve()
      script.onerror = () => reject(new Error(`Could not load ${src}`))
      document.head.append(script)
    })
    loaded.set(src, loading)
  }

  return loading
}

const fits = (level: {width?: number; height?: number; bitrate?: number}, cap: Rendition | undefined) =>
  !cap || shortSide(level) <= shortSide(cap)

/** The level of a player that shows this rendition: same picture height and width. */
function levelIndexOf(levels: ReadonlyArray<{width?: number; height?: number}>, rendition: Rendition): number {
  return levels.findIndex((level) => level.height === rendition.height && Math.abs((level.width ?? 0) - (rendition.width ?? 0)) <= 2)
}

export function createHlsPlayer(options: PlayerOptions): Player {
  const hls = new Hls({
    // The player's size caps the rendition too: no 1080p into a 400-pixel-wide player.
    capLevelToPlayerSize: true,
    // The device cap is set once the levels are known, before the first segment is chosen.
    autoStartLoad: false,
    // LL-HLS: parts, blocking reload and the preload hint; hold the part hold-back by playing up to 1.5x when behind.
    ...(options.lowLatency ? {lowLatencyMode: true, maxLiveSyncPlaybackRate: 1.5} : {}),
    ...options.settings,
  })
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    // Levels above the device cap are removed, not capped: hls.js's own player-size capping
    // rewrites autoLevelCapping whenever the player's size changes, and would lift a cap set there.
    const cap = options.cap
    if (cap) {
      for (let index = hls.levels.length - 1; index >= 0 && hls.levels.length > 1; index--) {
        const level = hls.levels[index]
        if (level && !fits(level, cap)) hls.removeLevel(index)
      }
    }

    hls.startLoad(-1)
  })
  let wasLive = false
  hls.on(Hls.Events.LEVEL_UPDATED, (_event, data) => {
    // A live playlist that gets its end tag turns into a finished one.
    if (data.details.live) wasLive = true
    else if (wasLive) options.onEnded?.()
  })
  // A live stream's playlist or part that failed every retry (an origin restarting, a network
  // blip): load again, a few times, before giving up; any fragment loaded since resets the count.
  // A media error (a fragment the decoder refused): hls.js's recoverMediaError, twice at most in a
  // row, then the viewer is told; without a limit a broken stream loops on it for ever.
  const networkRecoveries = createRecoveryBudget(3)
  const mediaRecoveries = createRecoveryBudget(2)
  hls.on(Hls.Events.FRAG_LOADED, () => {
    networkRecoveries.reset()
    mediaRecoveries.reset()
  })
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal && data.type === Hls.ErrorTypes.NETWORK_ERROR && wasLive && networkRecoveries.tryAgain()) {
      console.warn(`hls.js: ${data.details}; loading again (${networkRecoveries.used}/3)`)
      hls.startLoad()
      return
    }

    if (!data.fatal) {
      // hls.js recovers from these itself; the console says what happened, for whoever debugs a stall.
      console.debug(`hls.js: ${data.details}${data.error ? ` (${data.error.message})` : ''}`)
      return
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries.tryAgain()) {
      console.warn(`hls.js: ${data.details}; recovering (${mediaRecoveries.used}/2)`)
      hls.recoverMediaError()
      return
    }

    options.onError(`Playback failed (hls.js: ${data.details})`)
  })
  hls.loadSource(options.url)
  hls.attachMedia(options.video)
  const stopKeepingEdge = options.lowLatency ? keepAtLiveEdge(hls, options.video) : () => undefined

  return {
    kind: 'hls.js',
    select(rendition) {
      if (rendition === 'auto') {
        hls.currentLevel = -1
        return
      }

      // From the next fragment: an immediate switch (currentLevel) flushes the buffer, and on a live
      // stream the stall that follows leaves the viewer further behind the edge.
      const index = levelIndexOf(hls.levels, rendition)
      if (index >= 0) hls.nextLevel = index
    },
    goLive() {
      const edge = hls.liveSyncPosition
      if (edge !== null && edge !== undefined) options.video.currentTime = edge
    },
    latencySeconds: () => {
      // Behind live = now minus the program date time of the picture on screen, where the playlist
      // dates its segments. Right after a rung switch both this and hls.js's own estimate
      // (hls.latency) can read the new rung wrongly for a moment (seen: 23 s and 21.5 s while 2 s
      // behind); the page holds such a jump back until the next reading agrees (latency.ts).
      const playing = hls.playingDate
      const behind = playing ? (Date.now() - playing.getTime()) / 1000 : Number.NaN
      if (Number.isFinite(behind) && behind > 0) return behind
      return Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : undefined
    },
    destroy: () => {
      stopKeepingEdge()
      hls.destroy()
    },
  }
}

/**
 * Once a second: a low-latency player that a stall pushed out of hls.js's catch-up range, without
 * the viewer seeking or pausing, goes back to the live edge (latency.ts says why).
 */
function keepAtLiveEdge(hls: HlsJs, video: HTMLVideoElement): () => void {
  let atEdge = false
  let viewerMoved = false
  let ownSeek = false
  const onSeeking = () => {
    if (ownSeek) ownSeek = false
    else viewerMoved = true
  }
  const onPause = () => {
    viewerMoved = true
  }
  video.addEventListener('seeking', onSeeking)
  video.addEventListener('pause', onPause)
  const timer = setInterval(() => {
    if (video.paused) return
    const details = hls.levels[hls.currentLevel]?.details
    const decision = nextEdgeDecision(atEdge, {
      latency: hls.latency,
      target: hls.targetLatency ?? undefined,
      targetDuration: details?.live ? details.targetduration : undefined,
      viewerMoved,
    })
    viewerMoved = false
    atEdge = decision.atEdge
    const edge = hls.liveSyncPosition
    if (decision.jump && edge !== null && edge !== undefined) {
      console.warn(`hls.js: ${hls.latency.toFixed(1)} s behind live after a stall, past its catch-up range; back to the live edge`)
      ownSeek = true
      video.currentTime = edge
    }
  }, 1000)

  return () => {
    clearInterval(timer)
    video.removeEventListener('seeking', onSeeking)
    video.removeEventListener('pause', onPause)
  }
}

export function createDashPlayer(options: PlayerOptions): Player {
  const player = dashjs.MediaPlayer().create()
  const events = dashjs.MediaPlayer.events
  // Representations above the device cap are not there for dash.js at all.
  if (options.cap) {
    const cap = options.cap
    player.registerCustomCapabilitiesFilter((representation: DashJs.Representation) => representation.mimeType?.startsWith('audio') === true || !representation.height || fits(representation, cap))
  }

  player.updateSettings({
    // LL-DASH (chunked segments, the MPD's latency target) is read from the MPD; catch-up keeps the player at that target.
    streaming: {abr: {limitBitrateByPortal: true}, ...(options.lowLatency ? {liveCatchup: {enabled: true}} : {})},
    ...options.settings,
  })
  player.on(events.ERROR, (event: {error?: {message?: string; code?: number}}) => {
    options.onError(`Playback failed (dash.js: ${event.error?.message ?? event.error?.code ?? 'error'})`)
  })
  player.on(events.PLAYBACK_ERROR, (event: {error?: string}) => options.onError(`Playback failed (dash.js: ${event.error ?? 'media error'})`))
  player.on(events.DYNAMIC_TO_STATIC, () => options.onEnded?.())
  player.initialize(options.video, options.url, true)

  const setAuto = (auto: boolean) => player.updateSettings({streaming: {abr: {autoSwitchBitrate: {video: auto}}}})
  return {
    kind: 'dash.js',
    select(rendition) {
      if (rendition === 'auto') {
        setAuto(true)
        return
      }

      const representations = player.getRepresentationsByType('video')
      const index = levelIndexOf(representations, rendition)
      const chosen = representations[index]
      if (!chosen) return
      setAuto(false)
      player.setRepresentationForTypeById('video', chosen.id, true)
    },
    goLive: () => player.seekToOriginalLive(),
    latencySeconds: () => {
      const latency = player.isDynamic() ? player.getCurrentLiveLatency() : NaN
      return Number.isFinite(latency) && latency > 0 ? latency : undefined
    },
    destroy: () => player.destroy(),
  }
}

/** The browser's own HLS (iOS Safari): it picks renditions itself; the page only shows which one plays. */
export function createNativePlayer(options: PlayerOptions): Player {
  const {video} = options
  const onError = () => options.onError(`Playback failed (${video.error?.message || `media error ${video.error?.code ?? ''}`})`)
  video.addEventListener('error', onError)
  video.src = options.url
  return {
    kind: 'native',
    select: () => undefined,
    goLive() {
      if (video.seekable.length > 0) video.currentTime = video.seekable.end(video.seekable.length - 1)
    },
    latencySeconds: () => undefined,
    destroy() {
      video.removeEventListener('error', onError)
      video.removeAttribute('src')
      video.load()
    },
  }
}
