import {describe, expect, it} from 'vitest'

import {AUDIO_ONLY_FILE, buildAudioOnlyArgs} from '../../src/lib/media/audio-only.js'
import {STEREO_48K_FILTER} from '../../src/lib/media/ffmpeg-fragments.js'

const valuesOf = (args: string[], flag: string) => args.flatMap((arg, index) => (arg === flag ? [args[index + 1]] : []))

describe('buildAudioOnlyArgs', () => {
  const args = buildAudioOnlyArgs('/in/podcast.mp3', '/out')

  it('encodes the first audio stream alone, cover art dropped, into one MP4 beside renditions.json', () => {
    expect(valuesOf(args, '-i')).toEqual(['/in/podcast.mp3'])
    expect(valuesOf(args, '-map')).toEqual(['0:a:0'])
    expect(args).toContain('-vn')
    expect(valuesOf(args, '-f')).toEqual(['mp4'])
    expect(args.at(-1)).toBe(`/out/${AUDIO_ONLY_FILE}`)
  })

  it('makes stereo 48 kHz AAC-LC at 128 kbit/s, mono upmixed and 5.1 downmixed', () => {
    // The stereo 48 kHz conversion first (whatever follows it in the shared audio chain).
    expect(valuesOf(args, '-af')[0]?.startsWith(STEREO_48K_FILTER)).toBe(true)
    expect(valuesOf(args, '-c:a')).toEqual(['aac'])
    expect(valuesOf(args, '-b:a')).toEqual(['128k'])
  })

  it('reports progress on stdout for the progress parser', () => {
    expect(valuesOf(args, '-progress')).toEqual(['pipe:1'])
  })
})
