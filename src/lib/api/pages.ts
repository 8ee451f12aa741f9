/**
 * The HTML of the pages viewers open: the list of videos (`GET /`) and the watch page
 * (`GET /watch/ID`). Pure functions. Everything that comes from users is escaped here and set as
 * text by the page's script, never parsed as HTML; the pages run no inline script and are sent
 * with a strict Content-Security-Policy.
 */
import type {Video} from '../catalog/videos.js'

const HTML_ESCAPES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] as string)
}

/**
 * Scripts and styles only from this server; media and API requests to it (and to the CDN that
 * serves the media, when there is one, and to the low-latency origin of a live video); `blob:`
 * for Media Source buffers and hls.js's worker.
 */
export function contentSecurityPolicy(options: {mediaOrigin?: string; liveOrigin?: string} = {}): string {
  const media = [options.mediaOrigin, options.liveOrigin].filter(Boolean).map((origin) => ` ${origin}`).join('')
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `media-src 'self' blob:${media}`,
    `connect-src 'self'${media}`,
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ')
}

export type PlayerChoice = 'auto' | 'hls' | 'dash' | 'native'

export interface WatchPageOptions {
  video: Pick<Video, 'id' | 'title' | 'status'>
  /** URL path of the page's assets, ending in "/". */
  assetsPath: string
  vendor: {hls: string; dash: string}
  player: PlayerChoice
  /** The device profile asked for with ?device=, or undefined to pick one from the screen. */
  device?: string
}

/** The document up to <body>: the title (escaped), the stylesheet, and the page's script when it has one. */
function documentHead(options: {title: string; assetsPath: string; script?: string}): string {
  const script = options.script ? `\n<script type="module" src="${options.assetsPath}${options.script}"></script>` : ''
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)} · livectl</title>
<link rel="stylesheet" href="${options.assetsPath}watch.css">${script}
</head>`
}

/** Data attributes the page's script reads its settings from (no inline script). */
function dataAttributes(values: Record<string, string | undefined>): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` data-${name}="${escapeHtml(value as string)}"`)
    .join('')
}

export function renderWatchPage(options: WatchPageOptions): string {
  const {video} = options
  const live = video.status === 'live'
  const attributes = dataAttributes({
    'video-id': video.id,
    'video-status': video.status,
    player: options.player,
    device: options.device,
    'hls-script': `${options.assetsPath}${options.vendor.hls}`,
    'dash-script': `${options.assetsPath}${options.vendor.dash}`,
  })
  return `${documentHead({title: video.title, assetsPath: options.assetsPath, script: 'watch.js'})}
<body class="watch"${attributes}>
<header class="top"><a href="/" class="home">livectl</a></header>
<main class="layout">
  <section class="stage" aria-label="Player">
    <div class="frame"><video data-testid="player" controls playsinline muted autoplay preload="metadata"></video></div>
    <div class="bar">
      <span class="live-badge" data-testid="live-badge"${live ? '' : ' hidden'}>LIVE</span>
      <button type="button" class="go-live" data-testid="go-live"${live ? '' : ' hidden'}>Go to live edge</button>
      <label class="quality">Quality
        <select data-testid="quality-menu"><option value="auto">Auto</option></select>
      </label>
      <span class="rendition" data-testid="current-rendition" aria-live="polite"></span>
      <span class="latency" data-testid="latency"${live ? '' : ' hidden'}></span>
    </div>
    <h1 class="title" data-testid="title">${escapeHtml(video.title)}</h1>
    <p class="status" data-testid="status" role="status"></p>
    <p class="error" data-testid="player-error" role="alert" hidden></p>
  </section>
  <aside class="comments" aria-label="Comments">
    <h2>Comments</h2>
    <ol class="comment-list" data-testid="comment-list" aria-live="polite"></ol>
    <form class="comment-form" data-testid="comment-form">
      <input name="author" data-testid="comment-author" placeholder="Your name" maxlength="100" required autocomplete="nickname">
      <textarea name="data" data-testid="comment-text" placeholder="Say something" maxlength="5000" rows="2" required></textarea>
      <button type="submit" data-testid="comment-submit">Post</button>
      <p class="error" data-testid="comment-error" role="alert" hidden></p>
    </form>
  </aside>
</main>
</body>
</html>
`
}

const STATUS_LABELS: Record<string, string> = {live: 'LIVE', ready: '', ended: 'ended', processing: 'processing', failed: 'failed'}

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds)
  const hours = Math.floor(whole / 3600)
  const minutes = Math.floor((whole % 3600) / 60)
  const rest = String(whole % 60).padStart(2, '0')
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`
}

export function renderIndexPage(options: {videos: Video[]; next: string | null; assetsPath: string}): string {
  const items = options.videos.map((video) => {
    const label = STATUS_LABELS[video.status] ?? video.status
    const badge = label ? ` <span class="badge badge-${escapeHtml(video.status)}">${escapeHtml(label)}</span>` : ''
    const duration = video.durationSeconds > 0 ? ` <span class="duration">${formatDuration(video.durationSeconds)}</span>` : ''
    return `    <li data-video-id="${escapeHtml(video.id)}"><a href="/watch/${encodeURIComponent(video.id)}">${escapeHtml(video.title)}</a>${badge}${duration}</li>`
  })
  const more = options.next ? `\n  <p><a href="/?after=${encodeURIComponent(options.next)}">More videos</a></p>` : ''
  return `${documentHead({title: 'Videos', assetsPath: options.assetsPath})}
<body class="index">
<header class="top"><a href="/" class="home">livectl</a></header>
<main class="videos">
  <h1>Videos</h1>
${items.length > 0 ? `  <ul data-testid="video-list">\n${items.join('\n')}\n  </ul>` : '  <p data-testid="video-list">No videos yet. Publish one with <code>livectl publish</code>, or push a live stream to <code>livectl ingest</code>.</p>'}${more}
</main>
</body>
</html>
`
}
