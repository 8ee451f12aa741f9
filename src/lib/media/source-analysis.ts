/**
 * Short looks at a source's pictures that its stream header cannot answer: whether the frames are
 * interlaced (broadcast streams are often labelled progressive, or not at all), and whether the
 * picture size changes part-way (concatenated clips, a resized screen recording, WebRTC). Their
 * verdicts feed picture.ts's plan.
 */
import {runProcess} from '../process.js'
import {needsInterlaceLook, type DeinterlaceMode, type PictureAnalysis, readIdetVerdict} from './picture.js'

/**
 * Frames idet looks at: 2.4 s at 25 fps, enough for its verdict (20 combed frames at least) at a
 * small decoding cost, paid by nearly every transcode.
 */
const IDET_FRAMES = 60

/**
 * How much more combed a frame must look woven one way than the other to count as interlaced
 * (idet's default is 1.04). At the default, fine moving detail in progressive test patterns read
 * as interlaced (94 of 101 frames of a 720p60 testsrc2); at 1.5 none of four progressive sources
 * did, and a real 25i recording still read 100 of 100.
 */
const IDET_INTERLACED_THRESHOLD = 1.5

/** idet starts this far in (a recording often opens on a still title or black), at most a minute. */
export function idetStartSeconds(durationSeconds: number | undefined): number {
  return durationSeconds && durationSeconds > 10 ? Math.min(60, durationSeconds * 0.1) : 0
}

export function buildIdetArgs(input: string, startSeconds: number): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'info', '-nostats',
    ...(startSeconds > 0 ? ['-ss', startSeconds.toFixed(3)] : []),
    '-i', input, '-map', '0:v:0', '-an', '-sn', '-dn',
    '-frames:v', String(IDET_FRAMES), '-vf', `idet=intl_thres=${IDET_INTERLACED_THRESHOLD}`, '-f', 'null', '-',
  ]
}

/** idet's last "Multi frame detection" line: TFF, BFF and progressive counts. */
export function parseIdetLine(line: string): {tff: number; bff: number; progressive: number} | undefined {
  const match = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)/.exec(line)
  return match ? {tff: Number(match[1]), bff: Number(match[2]), progressive: Number(match[3])} : undefined
}

/** Only the keyframes are decoded: a size changes at one, and a keyframe costs a frame in a GOP. */
export function buildKeyframeSizeArgs(input: string): string[] {
  return ['-v', 'error', '-select_streams', 'v:0', '-skip_frame', 'nokey', '-show_entries', 'frame=width,height', '-of', 'csv=p=0', input]
}

/** Distinct sizes in the order met, from `width,height` lines. */
export function collectSizes(lines: readonly string[]): Array<{width: number; height: number}> {
  const sizes: Array<{width: number; height: number}> = []
  for (const line of lines) {
    const [width, height] = line.split(',').map(Number)
    if (!width || !height || sizes.some((size) => size.width === width && size.height === height)) continue
    sizes.push({width, height})
  }

  return sizes
}

export interface AnalyseSourceOptions {
  ffmpeg: string
  ffprobe: string
  input: string
  durationSeconds?: number
  fieldOrder?: string
  deinterlace: DeinterlaceMode
  signal?: AbortSignal
}

/** Both looks at once; each only where its answer is needed. */
export async function analyseSource(options: AnalyseSourceOptions): Promise<PictureAnalysis> {
  const interlaced = needsInterlaceLook(options.deinterlace, options.fieldOrder)
    ? (async () => {
        let counts: {tff: number; bff: number; progressive: number} | undefined
        await runProcess(options.ffmpeg, buildIdetArgs(options.input, idetStartSeconds(options.durationSeconds)), {
          signal: options.signal,
          onStderrLine: (line) => {
            counts = parseIdetLine(line) ?? counts
          },
        })
        return counts ? readIdetVerdict(counts) : undefined
      })()
    : Promise.resolve(undefined)
  const sizes = (async () => {
    const lines: string[] = []
    await runProcess(options.ffprobe, buildKeyframeSizeArgs(options.input), {signal: options.signal, onStdoutLine: (line) => lines.push(line)})
    return collectSizes(lines)
  })()
  const [interlacedVerdict, sizeList] = await Promise.all([interlaced, sizes])
  return {...(interlacedVerdict ? {interlaced: interlacedVerdict} : {}), sizes: sizeList}
}
