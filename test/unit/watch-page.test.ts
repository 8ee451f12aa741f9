/** The watch page's pure parts: device guess, renditions a device may play, comments on the timeline, escaping, CSP, CORS rules. */
import {describe, expect, it} from 'vitest'

import {allowedOrigin, isSameOrigin, parseCorsOrigins} from '../../src/lib/api/cors.js'
import {contentSecurityPolicy, escapeHtml, renderWatchPage} from '../../src/lib/api/pages.js'
import {allowedRenditions, guessDevice, renditionForPicture} from '../../src/web/device.js'
import {catchUpLimitSeconds, type LatencyLine, nextEdgeDecision, nextLatencyLine} from '../../src/web/latency.js'
import {createRecoveryBudget} from '../../src/web/recovery.js'
import {compareComments, formatMediaTime, isShown} from '../../src/web/timeline.js'

const ladder = [
  {name: '720p', width: 1280, height: 720, bandwidth: 3_000_000},
  {name: '480p', width: 854, height: 480, bandwidth: 1_500_000},
  {name: '144p', width: 256, height: 144, bandwidth: 214_000},
]

describe('device guess', () => {
  it('calls a phone-sized screen mobile whatever its pixel ratio or pointer', () => {
    expect(guessDevice({widthCss: 390, heightCss: 844, coarsePointer: true})).toBe('mobile')
    expect(guessDevice({widthCss: 844, heightCss: 390, coarsePointer: true})).toBe('mobile')
    expect(guessDevice({widthCss: 412, heightCss: 915, coarsePointer: false})).toBe('mobile')
  })

  it('tells tablets, laptops and desktops apart', () => {
    expect(guessDevice({widthCss: 820, heightCss: 1180, coarsePointer: true})).toBe('tablet')
    expect(guessDevice({widthCss: 1440, heightCss: 900, coarsePointer: false})).toBe('laptop')
    expect(guessDevice({widthCss: 1920, heightCss: 1080, coarsePointer: false})).toBe('desktop')
  })
})

describe('renditions a device may play', () => {
  it('keeps the cap and everything smaller, and everything without a cap', () => {
    expect(allowedRenditions(ladder, ladder[1]).map((rendition) => rendition.name)).toEqual(['480p', '144p'])
    expect(allowedRenditions(ladder, undefined)).toHaveLength(3)
  })

  it('drops a rendition that fits the size but not the bandwidth', () => {
    const heavy = [{name: '480p-hi', width: 854, height: 480, bandwidth: 4_000_000}, ...ladder]
    expect(allowedRenditions(heavy, ladder[1]).map((rendition) => rendition.name)).toEqual(['480p', '144p'])
  })

  it('names the rendition of a decoded picture, also when non-square pixels change its width', () => {
    expect(renditionForPicture(ladder, {width: 853, height: 480})?.name).toBe('480p')
    expect(renditionForPicture(ladder, {width: 256, height: 144})?.name).toBe('144p')
  })
})

describe('comments on the timeline', () => {
  const comment = (at: number | null, created = '2026-01-01T00:00:00.000Z', id = 'c') => ({id, at, created_at: created})

  it('on a VOD shows a comment once the playhead passes its moment; untimed and fresh ones at once', () => {
    expect(isShown(comment(10), {live: false, playheadSeconds: 9, fresh: false})).toBe(false)
    expect(isShown(comment(10), {live: false, playheadSeconds: 10, fresh: false})).toBe(true)
    expect(isShown(comment(null), {live: false, playheadSeconds: 0, fresh: false})).toBe(true)
    expect(isShown(comment(50), {live: false, playheadSeconds: 0, fresh: true})).toBe(true)
  })

  it('on a live video shows everything as it arrives', () => {
    expect(isShown(comment(999), {live: true, playheadSeconds: 0, fresh: false})).toBe(true)
  })

  it('orders a VOD along the timeline and a live video by time written', () => {
    const late = comment(30, '2026-01-01T00:00:00.000Z', 'late')
    const early = comment(5, '2026-01-02T00:00:00.000Z', 'early')
    expect([late, early].sort((a, b) => compareComments(a, b, false)).map((c) => c.id)).toEqual(['early', 'late'])
    expect([early, late].sort((a, b) => compareComments(a, b, true)).map((c) => c.id)).toEqual(['late', 'early'])
  })

  it('formats media times', () => {
    expect(formatMediaTime(65.4)).toBe('1:05')
    expect(formatMediaTime(3723)).toBe('1:02:03')
  })
})

describe('pages', () => {
  it('escapes everything that comes from users', () => {
    expect(escapeHtml('<script>alert("x")</script> & \'')).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;')
    const html = renderWatchPage({video: {id: 'v', title: '</title><script>x()</script>', status: 'ready'}, assetsPath: '/assets/abc/', vendor: {hls: 'h.js', dash: 'd.js'}, player: 'auto'})
    expect(html).not.toContain('<script>x()')
    expect(html).toContain('&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;')
  })

  it('shows the LIVE badge only for live videos', () => {
    const render = (status: 'live' | 'ready') => renderWatchPage({video: {id: 'v', title: 't', status}, assetsPath: '/a/', vendor: {hls: 'h.js', dash: 'd.js'}, player: 'auto'})
    expect(render('live')).toMatch(/data-testid="live-badge">/)
    expect(render('ready')).toMatch(/data-testid="live-badge" hidden>/)
  })

  it('allows scripts from this server only, and media from the CDN when there is one', () => {
    const csp = contentSecurityPolicy({mediaOrigin: 'https://cdn.example.com'})
    expect(csp).toContain("script-src 'self';")
    expect(csp).toContain("connect-src 'self' https://cdn.example.com")
    expect(csp).toContain("media-src 'self' blob: https://cdn.example.com")
    expect(csp).not.toMatch(/unsafe/)
  })
})

describe('CORS rules', () => {
  it('lets * read but never write; listed origins do both', () => {
    const policy = parseCorsOrigins('*,https://app.example.com')
    expect(allowedOrigin(policy, 'https://other.example', 'GET')).toBe('*')
    expect(allowedOrigin(policy, 'https://other.example', 'POST')).toBe(false)
    expect(allowedOrigin(policy, 'https://app.example.com', 'POST')).toBe('https://app.example.com')
    expect(allowedOrigin(policy, undefined, 'GET')).toBe(false)
  })

  it('reads none, lists, and refuses what is not an origin', () => {
    expect(allowedOrigin(parseCorsOrigins('none'), 'https://a.example', 'GET')).toBe(false)
    expect(allowedOrigin(parseCorsOrigins('https://a.example'), 'https://b.example', 'GET')).toBe(false)
    expect(() => parseCorsOrigins('ftp://x.example')).toThrow(/not an origin/)
    expect(() => parseCorsOrigins('https://x.example/path')).toThrow(/not an origin/)
  })

  it('knows the server\'s own origin, as reached or, when configured, only as published', () => {
    expect(isSameOrigin('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true)
    expect(isSameOrigin('http://evil.example:8080', '127.0.0.1:8080')).toBe(false)
    expect(isSameOrigin('https://video.example.com', 'internal:8080', 'https://video.example.com')).toBe(true)
    expect(isSameOrigin('https://evil.example', 'internal:8080', 'https://video.example.com')).toBe(false)
    // With a public URL the Host header is not trusted: a rebound DNS name cannot pass for the server.
    expect(isSameOrigin('http://rebound.example:8080', 'rebound.example:8080', 'https://video.example.com')).toBe(false)
  })
})

describe('the latency line', () => {
  const read = (readings: Array<number | undefined>) => {
    let line: LatencyLine = {}
    return readings.map((reading) => {
      line = nextLatencyLine(line, reading)
      return line.shown
    })
  }

  it('follows readings that move a little, and a stall that grows a second at a time', () => {
    expect(read([2.1, 1.8, 2.4, 3.4, 4.4, 5.4, 4.9])).toEqual([2.1, 1.8, 2.4, 3.4, 4.4, 5.4, 4.9])
  })

  it('never shows a one-reading glitch after a rung switch', () => {
    expect(read([2.1, 21.5, 2.2, 2.0])).toEqual([2.1, 2.1, 2.2, 2.0])
  })

  it('shows a real jump (a seek back into the DVR window) one reading late', () => {
    expect(read([2.1, 15.2, 15.4, 15.1])).toEqual([2.1, 2.1, 15.4, 15.1])
  })

  it('shows the first reading at once, and nothing when the player has none', () => {
    expect(read([18, undefined, 2])).toEqual([18, undefined, 2])
  })
})

describe('recovery budget', () => {
  it('allows a fixed number of tries in a row, and starts again after progress', () => {
    const budget = createRecoveryBudget(2)
    expect([budget.tryAgain(), budget.tryAgain(), budget.tryAgain()]).toEqual([true, true, false])
    expect(budget.used).toBe(2)
    budget.reset()
    expect(budget.tryAgain()).toBe(true)
    expect(budget.used).toBe(1)
  })
})

describe('keeping a low-latency player at the live edge', () => {
  // hls.js at a 0.92 s target with 2 s segments catches up by rate while under 3.84 s behind.
  const at = (latency: number | undefined, viewerMoved = false) => ({latency, target: 0.92, targetDuration: 2, viewerMoved})

  it('is the range hls.js catches up in by playback rate', () => {
    expect(catchUpLimitSeconds(0.92, 2)).toBeCloseTo(3.84)
  })

  it('takes a player that a stall pushed out of range back to the edge', () => {
    let state = nextEdgeDecision(false, at(1.3))
    expect(state).toEqual({atEdge: true, jump: false})
    state = nextEdgeDecision(state.atEdge, at(5.5))
    expect(state).toEqual({atEdge: true, jump: true})
  })

  it('leaves a viewer who sought back where they chose, until they come back in range', () => {
    let state = nextEdgeDecision(true, at(12, true))
    expect(state).toEqual({atEdge: false, jump: false})
    state = nextEdgeDecision(state.atEdge, at(12.1))
    expect(state).toEqual({atEdge: false, jump: false})
    state = nextEdgeDecision(state.atEdge, at(2))
    expect(state.atEdge).toBe(true)
  })

  it('never jumps a player that joined behind and was never at the edge', () => {
    expect(nextEdgeDecision(false, at(6))).toEqual({atEdge: false, jump: false})
  })

  it('does nothing without a reading (not live yet, a stall with no estimate)', () => {
    expect(nextEdgeDecision(true, at(undefined))).toEqual({atEdge: true, jump: false})
    expect(nextEdgeDecision(true, {latency: 9, viewerMoved: false})).toEqual({atEdge: true, jump: false})
  })
})
