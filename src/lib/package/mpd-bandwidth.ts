/**
 * DASH @bandwidth from measurement: ffmpeg's dash muxer copies each stream's nominal bit rate
 * (for a constant-quality rung, its average), which a player would take as deliverable at that
 * rate. The package's measured per-segment peak is written instead, as HLS BANDWIDTH is. Pure:
 * changes only the bandwidth attribute of the Representation elements it is given ids for.
 */
const REPRESENTATION_TAG = /<Representation\b[^>]*>/g

export function setMpdBandwidths(mpd: string, bandwidths: ReadonlyMap<string, number>): string {
  return mpd.replace(REPRESENTATION_TAG, (tag) => {
    const id = /\sid="([^"]*)"/.exec(tag)?.[1]
    const bandwidth = id === undefined ? undefined : bandwidths.get(id)
    if (bandwidth === undefined) return tag
    const value = String(Math.ceil(bandwidth))
    return /\sbandwidth="[^"]*"/.test(tag) ? tag.replace(/\sbandwidth="[^"]*"/, ` bandwidth="${value}"`) : tag.replace(/\s*(\/?)>$/, ` bandwidth="${value}"$1>`)
  })
}
