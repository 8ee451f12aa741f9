/** Builds the HLS master playlist from the measured package, so BANDWIDTH is the real peak. Pure. */
import type {PackageTrack} from './manifest.js'

const quote = (value: string) => `"${value}"`

export function buildMasterPlaylist(renditions: readonly PackageTrack[], audio: PackageTrack | undefined): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS']
  if (renditions.length === 0 && audio?.playlist) {
    // Audio only (a podcast): the audio playlist is the one variant, with no RESOLUTION.
    const attributes = [`BANDWIDTH=${audio.bandwidth}`, `AVERAGE-BANDWIDTH=${audio.averageBandwidth}`, `CODECS=${quote(audio.codecs)}`]
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, audio.playlist)
    return `${lines.join('\n')}\n`
  }

  if (audio?.playlist) {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="default",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="${audio.channels ?? 2}",URI=${quote(audio.playlist)}`,
    )
  }

  for (const rendition of renditions) {
    if (!rendition.playlist) continue
    const attributes = [
      // BANDWIDTH is the peak of any segment (video plus the audio that plays with it), as the HLS spec asks.
      `BANDWIDTH=${rendition.bandwidth + (audio?.bandwidth ?? 0)}`,
      `AVERAGE-BANDWIDTH=${rendition.averageBandwidth + (audio?.averageBandwidth ?? 0)}`,
      `RESOLUTION=${rendition.width}x${rendition.height}`,
      ...(rendition.frameRate ? [`FRAME-RATE=${rendition.frameRate.toFixed(3)}`] : []),
      `CODECS=${quote(audio ? `${rendition.codecs},${audio.codecs}` : rendition.codecs)}`,
      ...(audio?.playlist ? ['AUDIO="audio"'] : []),
    ]
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, rendition.playlist)
  }

  return `${lines.join('\n')}\n`
}
