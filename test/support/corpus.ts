/**
 * The real-recordings corpus: tiny clips made with ffmpeg at test time (never binaries in the
 * repository), one per kind of recording people actually have. Each kind says what it stands for
 * and how it is made; to add a kind, add an entry to CORPUS and a test that checks what a viewer
 * of its rungs would see (test/integration/real-recordings.test.ts).
 *
 * The picture kinds that check colour are made from a known SDR picture (`sdr-reference`), so the
 * output can be compared with what the recording should look like.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import path from 'node:path'

import {mediaTools} from '../../src/lib/media/tools.js'

export type CorpusKind =
  | 'sdr-reference' | 'hdr-pq' | 'hdr-hlg' | 'sd-reference' | 'sd-bt601' | 'hd-reference' | 'hd-bt601'
  | 'interlaced-ts' | 'interlaced-mislabelled' | 'interlaced-bff-mislabelled' | 'vfr-phone' | 'hfr-60' | 'size-change'
  | 'surround-5.1' | 'surround-7.1' | 'mono' | 'av-offset' | 'vfr-av' | 'anamorphic-dvd'

interface CorpusEntry {
  file: string
  /** What real recording it stands for. */
  standsFor: string
  make: (make: Maker) => Promise<void>
}

interface Maker {
  /** Runs ffmpeg (quiet, overwriting) with these arguments, writing `output` last. */
  ffmpeg: (args: string[]) => Promise<void>
  /** Path of another kind's clip in the same folder, made first if needed. */
  clip: (kind: CorpusKind) => Promise<string>
  output: string
  dir: string
}

const QUIET = ['-hide_banner', '-nostdin', '-y', '-loglevel', 'error']
const TEST_PATTERN = (size: string, rate: number, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`]
const TONE = (seconds: number, extra = '') => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}${extra}`]
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast']
/** RGB test pattern to BT.709 (or another matrix) limited-range YUV, exactly (zimg), tagged. */
export const TO_YUV = (matrix: '709' | '470bg') => `format=gbrp,zscale=min=gbr:rin=full:pin=709:tin=709:p=709:t=709:m=${matrix}:r=limited,format=yuv420p`
/** An SDR BT.709 picture into BT.2020 HDR: SDR white at BT.2408's 203 cd/m². */
export const TO_HDR = (transfer: 'smpte2084' | 'arib-std-b67') => `zscale=t=linear:npl=203,format=gbrpf32le,zscale=p=bt2020:t=${transfer}:m=bt2020nc:r=tv:npl=203,format=yuv420p10le`
const HEVC_10BIT = (transfer: string) => ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:crf=12', '-tag:v', 'hvc1', '-color_primaries', 'bt2020', '-color_trc', transfer, '-colorspace', 'bt2020nc']

export const CORPUS: Record<CorpusKind, CorpusEntry> = {
  'sdr-reference': {
    file: 'sdr-reference.mp4',
    standsFor: 'the SDR picture the HDR clips are made from (640x360, BT.709, nearly lossless)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('640x360', 30, 2), '-vf', TO_YUV('709'), ...X264, '-crf', '8', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', output]),
  },
  'hdr-pq': {
    file: 'hdr-pq.mp4',
    standsFor: 'HDR10 from a camera or game capture: 10-bit HEVC, BT.2020, PQ',
    make: async ({ffmpeg, clip, output}) => ffmpeg(['-i', await clip('sdr-reference'), '-vf', TO_HDR('smpte2084'), ...HEVC_10BIT('smpte2084'), output]),
  },
  'hdr-hlg': {
    file: 'hdr-hlg.mov',
    standsFor: 'an iPhone\'s default HDR: 10-bit HEVC, BT.2020, HLG, in a MOV',
    make: async ({ffmpeg, clip, output}) => ffmpeg(['-i', await clip('sdr-reference'), '-vf', TO_HDR('arib-std-b67'), ...HEVC_10BIT('arib-std-b67'), output]),
  },
  'sd-reference': {
    file: 'sd-reference.mp4',
    standsFor: 'the BT.709 picture the BT.601 SD clip shows (720x480)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('720x480', 30, 2), '-vf', TO_YUV('709'), ...X264, '-crf', '8', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', output]),
  },
  'sd-bt601': {
    file: 'sd-bt601.mp4',
    standsFor: 'an SD recording (DVD, an old camera): 720x480 with the BT.601 matrix',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('720x480', 30, 2), '-vf', TO_YUV('470bg'), ...X264, '-crf', '8', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'smpte170m', output]),
  },
  'hd-reference': {
    file: 'hd-reference.mp4',
    standsFor: 'the BT.709 picture the BT.601-tagged HD clip shows (1280x720)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('1280x720', 30, 2), '-vf', TO_YUV('709'), ...X264, '-crf', '8', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', output]),
  },
  'hd-bt601': {
    file: 'hd-bt601.mp4',
    standsFor: 'an HD recording with the BT.601 matrix (some cameras and screen recorders write 720p and 1080p so)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('1280x720', 30, 2), '-vf', TO_YUV('470bg'), ...X264, '-crf', '8', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'smpte170m', output]),
  },
  'interlaced-ts': {
    file: 'interlaced.ts',
    standsFor: 'a broadcast recording: 720x480 25i MPEG-2 in MPEG-TS, top field first, labelled so',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('720x480', 50, 4), ...TONE(4), '-vf', 'tinterlace=mode=interleave_top,setfield=tff', '-c:v', 'mpeg2video', '-b:v', '6M', '-flags', '+ilme+ildct', '-top', '1', '-c:a', 'mp2', '-f', 'mpegts', output]),
  },
  'interlaced-mislabelled': {
    file: 'interlaced-mislabelled.mp4',
    standsFor: 'woven fields in a stream that says it is progressive (a badly remuxed broadcast capture)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('720x480', 50, 4), '-vf', 'tinterlace=mode=interleave_top,setfield=prog', ...X264, output]),
  },
  'interlaced-bff-mislabelled': {
    file: 'interlaced-bff.mp4',
    standsFor: 'bottom field first (DV, NTSC capture cards) in a stream that says it is progressive',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('720x480', 50, 4), '-vf', 'tinterlace=mode=interleave_bottom,setfield=prog', ...X264, output]),
  },
  'vfr-phone': {
    file: 'vfr-phone.mp4',
    standsFor: 'a phone or screen recording at 30 fps with gaps (a third of the frames missing in bursts)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('640x360', 30, 6), ...TONE(6), '-vf', String.raw`select='not(between(mod(n\,30)\,10\,20))'`, '-fps_mode', 'vfr', ...X264, '-c:a', 'aac', output]),
  },
  'hfr-60': {
    file: 'hfr-60.mp4',
    standsFor: 'a 60 fps phone or game recording (1280x720)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('1280x720', 60, 4), ...TONE(4), ...X264, '-c:a', 'aac', output]),
  },
  'size-change': {
    file: 'size-change.mkv',
    standsFor: 'camera clips joined together: 3 s of 640x360 then 3 s of 480x360, with 44.1 then 48 kHz audio',
    make: async ({ffmpeg, dir, output}) => {
      const first = path.join(dir, 'size-change-1.ts')
      const second = path.join(dir, 'size-change-2.ts')
      await ffmpeg([...TEST_PATTERN('640x360', 30, 3), '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=3', ...X264, '-g', '30', '-c:a', 'aac', '-f', 'mpegts', first])
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=480x360:rate=30:duration=3', ...TONE(3), ...X264, '-g', '30', '-c:a', 'aac', '-f', 'mpegts', second])
      // The concat demuxer keeps the timestamps running on, as a camera's joined clips have them.
      const list = path.join(dir, 'size-change.txt')
      await writeFile(list, `file '${first}'\nfile '${second}'\n`)
      await ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', output])
    },
  },
  'surround-5.1': {
    file: 'surround-5.1.mp4',
    standsFor: 'a film\'s 5.1 mix: a tone in the centre channel only (where dialogue lives)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('320x180', 30, 2), ...TONE(2), '-af', 'pan=5.1|FC=c0', ...X264, '-c:a', 'aac', '-b:a', '384k', output]),
  },
  'surround-7.1': {
    file: 'surround-7.1.mkv',
    standsFor: 'a 7.1 mix: a tone in the centre channel only',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('320x180', 30, 2), ...TONE(2), '-af', 'pan=7.1|FC=c0', ...X264, '-c:a', 'flac', output]),
  },
  'vfr-av': {
    file: 'vfr-av.mp4',
    standsFor: 'a phone recording with dropped frames before a flash and its beep at 3.0 s (30 fps nominal, a third of the frames missing in bursts)',
    make: async ({ffmpeg, dir, output}) => {
      const video = path.join(dir, 'vfr-av-video.mp4')
      await ffmpeg(['-f', 'lavfi', '-i', String.raw`color=black:s=640x360:r=30:d=5,geq=lum='if(between(N\,90\,91)\,235\,16)':cb=128:cr=128`, '-vf', String.raw`select='not(between(mod(n\,30)\,10\,20))'`, '-fps_mode', 'vfr', ...X264, video])
      await ffmpeg(['-i', video, '-f', 'lavfi', '-i', String.raw`aevalsrc='if(between(t\,3\,3.06)\,0.5*sin(2*PI*1000*t)\,0)':s=48000:d=5`, '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', output])
    },
  },
  'anamorphic-dvd': {
    file: 'anamorphic-dvd.mkv',
    standsFor: 'a 16:9 DVD or DV recording: 720x480 stored, non-square pixels (SAR 32:27)',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('720x480', 30, 2), ...TONE(2), '-vf', 'setsar=32/27', ...X264, '-c:a', 'aac', output]),
  },
  mono: {
    file: 'mono.mp4',
    standsFor: 'a phone or lavalier recording with mono audio',
    make: ({ffmpeg, output}) => ffmpeg([...TEST_PATTERN('320x180', 30, 2), ...TONE(2), ...X264, '-c:a', 'aac', output]),
  },
  'av-offset': {
    file: 'av-offset.mp4',
    standsFor: 'flash and beep at 1.5 s, in sync, in an MP4 whose video track starts 0.5 s after its audio (an edit list), with B-frames',
    make: async ({ffmpeg, dir, output}) => {
      const video = path.join(dir, 'av-offset-video.mp4')
      const audio = path.join(dir, 'av-offset-audio.m4a')
      // A white flash on frames 30-31 of the video's own time: 1.5 s once the track starts at 0.5 s.
      await ffmpeg(['-f', 'lavfi', '-i', String.raw`color=black:s=640x360:r=30:d=4,geq=lum='if(between(N\,30\,31)\,235\,16)':cb=128:cr=128`, ...X264, '-bf', '2', video])
      await ffmpeg(['-f', 'lavfi', '-i', String.raw`aevalsrc='if(between(t\,1.5\,1.56)\,0.5*sin(2*PI*1000*t)\,0)':s=48000:d=4.5`, '-c:a', 'aac', audio])
      await ffmpeg(['-itsoffset', '0.5', '-i', video, '-i', audio, '-map', '0:v', '-map', '1:a', '-c', 'copy', output])
    },
  },
}

async function run(file: string, args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${stderr}`))))
  })
}

/** The clip of this kind in `dir`, made there unless it already is. */
export async function corpusClip(kind: CorpusKind, dir: string): Promise<string> {
  const entry = CORPUS[kind]
  const output = path.join(dir, entry.file)
  if (existsSync(output)) return output
  const {ffmpeg} = await mediaTools()
  await entry.make({
    ffmpeg: (args) => run(ffmpeg, [...QUIET, ...args]),
    clip: (other) => corpusClip(other, dir),
    output,
    dir,
  })
  return output
}
