/**
 * Rewrites of the live encoder's MPD: the DVR window, the availability offset of low-latency
 * DASH, and the segment in progress listed in each SegmentTimeline, on the MPD ffmpeg 5.1 writes.
 */
import {describe, expect, it} from 'vitest'

import {withAvailabilityTimeOffset, withMinimumUpdatePeriod, withSegmentsInProgress, withTimeShiftBuffer} from '../../src/lib/package/live-mpd.js'

const MPD = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" type="dynamic" minimumUpdatePeriod="PT2S" availabilityStartTime="2026-12-01T01:58:04.077Z">
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video">
			<Representation id="0" mimeType="video/mp4" codecs="avc1.42c014" bandwidth="500000" width="320" height="180">
				<SegmentTemplate timescale="15360" availabilityTimeComplete="false" initialization="init-$RepresentationID$.m4s" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="30720" r="1" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
		<AdaptationSet id="1" contentType="audio">
			<Representation id="1" mimeType="audio/mp4" codecs="mp4a.40.2" bandwidth="64000">
				<SegmentTemplate timescale="48000" availabilityTimeComplete="false" initialization="init-$RepresentationID$.m4s" media="seg-$RepresentationID$-$Number%05d$.m4s" startNumber="1">
					<SegmentTimeline>
						<S t="0" d="95232" />
						<S d="96256" />
					</SegmentTimeline>
				</SegmentTemplate>
			</Representation>
		</AdaptationSet>
	</Period>
</MPD>
`

describe('withTimeShiftBuffer', () => {
  it('adds the DVR window, or replaces the one there', () => {
    expect(withTimeShiftBuffer(MPD, 30)).toContain('<MPD timeShiftBufferDepth="PT30S" xmlns=')
    expect(withTimeShiftBuffer(withTimeShiftBuffer(MPD, 30), 20).match(/timeShiftBufferDepth/g)).toHaveLength(1)
  })
})

describe('withAvailabilityTimeOffset', () => {
  it('lets each segment be fetched that long before it is complete, once per SegmentTemplate', () => {
    const rewritten = withAvailabilityTimeOffset(MPD, 2 - 0.333)
    expect(rewritten.match(/<SegmentTemplate availabilityTimeOffset="1\.667" timescale=/g)).toHaveLength(2)
    expect(withAvailabilityTimeOffset(rewritten, 1)).toBe(rewritten)
  })
})

describe('withSegmentsInProgress', () => {
  it('lists the segment being written in the timelines whose tracks have begun it, with the last duration', () => {
    const seen: Array<[string, number]> = []
    const rewritten = withSegmentsInProgress(MPD, (id, listed) => {
      seen.push([id, listed])
      return id === '0'
    })
    // r="1" counts two segments.
    expect(seen).toEqual([['0', 2], ['1', 2]])
    expect(rewritten).toContain('<S t="0" d="30720" r="1" />\n\t\t\t\t\t\t<S d="30720" />\n\t\t\t\t\t</SegmentTimeline>')
    // The audio track had not begun its next segment: unchanged.
    expect(rewritten).toContain('<S d="96256" />\n\t\t\t\t\t</SegmentTimeline>')
    expect(withSegmentsInProgress(MPD, () => false)).toBe(MPD)
  })
})

describe('withMinimumUpdatePeriod', () => {
  it('sets how often players reload the MPD', () => {
    expect(withMinimumUpdatePeriod(MPD, 0.5)).toContain('minimumUpdatePeriod="PT0.5S"')
    // A static MPD has none, and gets none.
    expect(withMinimumUpdatePeriod(MPD.replace(' minimumUpdatePeriod="PT2S"', ''), 0.5)).not.toContain('minimumUpdatePeriod')
  })
})
