/**
 * The watch page: picks the device profile and the player, builds the quality menu, keeps the
 * LIVE badge and the current rendition up to date, and runs the comments beside the player.
 * Its settings come from data attributes on <body>; everything from users is set as text.
 */
import {type Rendition} from './device.js'
import {deviceRendition, getVideo, type VideoInfo} from './api.js'
import {CommentsPanel} from './comments.js'
import {allowedRenditions, guessDevice, renditionForPicture, shortSide} from './device.js'
import {type LatencyLine, nextLatencyLine} from './latency.js'
import {createDashPlayer, createHlsPlayer, createNativePlayer, loadScript, type Player, type PlayerOptions} from './players.js'

declare global {
  interface Window {
    /** Player settings merged over the page's: `{"hls.js": {...}, "dash.js": {...}}` (embedders, benchmarks). */
    livectlPlayerSettings?: Record<string, Record<string, unknown>>
    ManagedMediaSource?: unknown
  }
}

const byTestId = <T extends HTMLElement>(id: string): T => {
  const element = document.querySelector<T>(`[data-testid="${id}"]`)
  if (!element) throw new Error(`the page has no ${id}`)
  return element
}

const page = document.body.dataset
const videoId = page.videoId ?? ''
const video = byTestId<HTMLVideoElement>('player')
const menu = byTestId<HTMLSelectElement>('quality-menu')
const current = byTestId<HTMLElement>('current-rendition')
const badge = byTestId<HTMLElement>('live-badge')
const goLiveButton = byTestId<HTMLButtonElement>('go-live')
const statusLine = byTestId<HTMLElement>('status')
const latencyLine = byTestId<HTMLElement>('latency')
const playerError = byTestId<HTMLElement>('player-error')

let live = page.videoStatus === 'live'
let player: Player | undefined
let renditions: Rendition[] = []

function showError(message: string): void {
  playerError.textContent = message
  playerError.hidden = false
}

function setLive(isLive: boolean): void {
  live = isLive
  badge.hidden = !isLive
  goLiveButton.hidden = !isLive
  latencyLine.hidden = !isLive
}

function deviceName(): string {
  if (page.device) return page.device
  return guessDevice({widthCss: screen.width, heightCss: screen.height, coarsePointer: matchMedia('(pointer: coarse)').matches})
}

function buildMenu(allowed: readonly Rendition[]): void {
  const allowedNames = new Set(allowed.map((rendition) => rendition.name))
  const sorted = [...renditions].sort((a, b) => shortSide(b) - shortSide(a) || b.bandwidth - a.bandwidth)
  menu.replaceChildren(new Option('Auto', 'auto', true, true))
  for (const rendition of sorted) {
    const option = new Option(rendition.name, rendition.name)
    // Listed, so viewers see the whole ladder, but above this device's cap it cannot be chosen.
    option.disabled = !allowedNames.has(rendition.name)
    menu.append(option)
  }
}

/** hls.js wherever Media Source runs (even where the browser also claims native HLS), else the browser's HLS. */
async function choosePlayer(info: VideoInfo, choice: string): Promise<{create: (options: PlayerOptions) => Player; url: string} | undefined> {
  const mediaSource = 'MediaSource' in window || 'ManagedMediaSource' in window
  if (choice === 'dash') {
    if (!info.dashUrl) return undefined
    await loadScript(page.dashScript ?? '')
    return {create: createDashPlayer, url: info.dashUrl}
  }

  if (!info.hlsUrl) return undefined
  if (choice !== 'native' && mediaSource) {
    await loadScript(page.hlsScript ?? '')
    if ((window as unknown as {Hls: {isSupported(): boolean}}).Hls.isSupported()) return {create: createHlsPlayer, url: info.hlsUrl}
  }

  return {create: createNativePlayer, url: info.hlsUrl}
}

async function waitForMedia(): Promise<VideoInfo> {
  for (;;) {
    const info = await getVideo(videoId)
    setLive(info.status === 'live')
    if (info.hlsUrl || info.dashUrl) return info
    if (info.status !== 'live' && info.status !== 'processing') throw new Error(info.status === 'failed' ? 'This video failed to process.' : 'This video has no media yet.')
    statusLine.textContent = info.status === 'live' ? 'Waiting for the stream to start…' : 'Processing…'
    await new Promise((resolve) => setTimeout(resolve, 2000))
  }
}

async function startPlayer(): Promise<void> {
  const info = await waitForMedia()
  statusLine.textContent = ''
  renditions = info.renditions
  const device = deviceName()
  const cap = await deviceRendition(videoId, device)
  document.body.dataset.deviceProfile = device
  buildMenu(allowedRenditions(renditions, cap))
  if (renditions.length === 0) {
    // Audio only (a podcast): no picture, nothing to choose between; the <video> element plays the sound.
    menu.disabled = true
    current.textContent = 'audio only'
  }

  const chosen = await choosePlayer(info, page.player ?? 'auto')
  if (!chosen) throw new Error('This video has no stream this player can play.')
  const create = chosen.create
  const kind = create === createHlsPlayer ? 'hls.js' : create === createDashPlayer ? 'dash.js' : 'native'
  player = create({
    video,
    url: chosen.url,
    cap,
    lowLatency: info.lowLatency === true,
    settings: window.livectlPlayerSettings?.[kind],
    onError: showError,
    onEnded: () => {
      setLive(false)
      statusLine.textContent = 'The live stream has ended.'
    },
  })
  document.body.dataset.playerKind = player.kind
  if (player.kind === 'native') menu.disabled = true
}

// What plays now, from the decoded picture itself.
video.addEventListener('resize', () => {
  // Audio only has no picture (0x0): the line keeps saying so.
  if (!video.videoHeight) return
  const rendition = renditionForPicture(renditions, {width: video.videoWidth, height: video.videoHeight})
  current.textContent = rendition?.name ?? `${video.videoHeight}p`
})
menu.addEventListener('change', () => {
  const chosen = renditions.find((rendition) => rendition.name === menu.value)
  player?.select(chosen ?? 'auto')
})
goLiveButton.addEventListener('click', () => player?.goLive())
let latency: LatencyLine = {}
setInterval(() => {
  if (!live) return
  latency = nextLatencyLine(latency, player?.latencySeconds())
  latencyLine.textContent = latency.shown === undefined ? '' : `${latency.shown.toFixed(1)} s behind live`
}, 1000)

const comments = new CommentsPanel({
  videoId,
  list: byTestId('comment-list'),
  form: byTestId('comment-form'),
  author: byTestId('comment-author'),
  text: byTestId('comment-text'),
  submit: byTestId('comment-submit'),
  error: byTestId('comment-error'),
  live: () => live,
  playheadSeconds: () => video.currentTime,
  seek: (seconds) => {
    video.currentTime = seconds
  },
})
for (const event of ['timeupdate', 'seeked']) video.addEventListener(event, () => comments.render())
comments.start()
startPlayer().catch((error: unknown) => showError((error as Error).message))
