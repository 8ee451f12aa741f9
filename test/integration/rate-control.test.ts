/**
 * Rate control on real encodes: on a static picture the constant-quality modes spend a fraction of
 * the fixed ladder's bits; on noisy high-motion content no segment of any rung goes above the
 * rung's cap; renditions.json and both manifests carry the measured rates; `livectl quality`
 * reports SSIM and PSNR that fall when the bit rate is forced down.
 */
import {execFile} from 'node:child_process'
import {readFile, writeFile} from 'node:fs/promises'
import path from 'node:path'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {mediaTools} from '../../src/lib/media/tools.js'
import {runCli} from '../support/cli.js'
import {makeTempDir} from '../support/media.js'

interface Manifest {
  rateControl: string
  renditions: Array<{name: string; maxRateKbps: number; rateControl: {mode: string; crf?: number}; measuredVideo: {averageKbps: number; peakKbps: number}}>
}

let work: Awaited<ReturnType<typeof makeTempDir>>
let still: string
let noisy: string

/** A near-lossless intermediate of a lavfi picture, 4 s of 640x360 at 30 fps. */
async function makeSource(name: string, graph: string): Promise<string> {
  const {ffmpeg} = await mediaTools()
  const file = path.join(work.dir, name)
  await promisify(execFile)(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', graph, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '4', '-pix_fmt', 'yuv420p', file])
  return file
}

async function transcode(source: string, mode: string, ladder = '360p,144p'): Promise<{dir: string; manifest: Manifest}> {
  const dir = path.join(work.dir, `${path.basename(source, '.mp4')}-${mode}${ladder.endsWith('.json') ? '-custom' : ''}`)
  const result = await runCli(['transcode', source, '-o', dir, '--rate-control', mode, '--ladder', ladder, '--preset', 'veryfast', '--data-dir', path.join(work.dir, 'data')])
  expect(result.exitCode, result.stderr).toBe(0)
  return {dir, manifest: JSON.parse(await readFile(path.join(dir, 'renditions.json'), 'utf8')) as Manifest}
}

beforeAll(async () => {
  work = await makeTempDir('livectl-rate-')
  // A still, detailed picture (one frame of a fractal, held), as a slide or a paused camera.
  still = await makeSource('still.mp4', 'mandelbrot=s=640x360:r=30,trim=end_frame=1,loop=loop=119:size=1,setpts=N/30/TB')
  noisy = await makeSource('noisy.mp4', 'testsrc2=s=640x360:r=30:d=4,noise=alls=40:allf=t+u')
})

afterAll(async () => {
  await work?.cleanup()
})

describe('--rate-control', () => {
  it('spends a fraction of the fixed ladder\'s bits on a static picture with capped-crf and per-title', async () => {
    const fixed = await transcode(still, 'cbr-ish')
    expect(fixed.manifest.rateControl).toBe('cbr-ish')
    expect(fixed.manifest.renditions[0]?.rateControl.mode).toBe('abr')
    for (const mode of ['capped-crf', 'per-title']) {
      const adaptive = await transcode(still, mode)
      expect(adaptive.manifest.rateControl).toBe(mode)
      for (const [index, rendition] of adaptive.manifest.renditions.entries()) {
        expect(rendition.rateControl.mode).toBe('crf')
        const baseline = fixed.manifest.renditions[index]?.measuredVideo.averageKbps ?? 0
        expect(rendition.measuredVideo.averageKbps, `${mode} ${rendition.name}: ${rendition.measuredVideo.averageKbps} kbit/s against ${baseline}`).toBeLessThan(baseline * 0.5)
      }
    }
  })

  it('never puts a segment of any rung above its cap on noisy high-motion content', async () => {
    for (const mode of ['capped-crf', 'per-title']) {
      const {manifest} = await transcode(noisy, mode)
      for (const rendition of manifest.renditions) {
        expect(rendition.measuredVideo.peakKbps, `${mode} ${rendition.name}: peak ${rendition.measuredVideo.peakKbps} over cap ${rendition.maxRateKbps}`).toBeLessThanOrEqual(rendition.maxRateKbps)
        // The content is hard: the rung uses most of what its cap allows.
        expect(rendition.measuredVideo.averageKbps).toBeGreaterThan(rendition.maxRateKbps * 0.6)
      }
    }
  })

  it('carries the measured peak into HLS BANDWIDTH and DASH @bandwidth', async () => {
    const {dir, manifest} = await transcode(noisy, 'per-title')
    const packaged = path.join(work.dir, 'noisy-package')
    const result = await runCli(['segment', dir, '-o', packaged, '--data-dir', path.join(work.dir, 'data')])
    expect(result.exitCode, result.stderr).toBe(0)
    const peak = (manifest.renditions[0]?.measuredVideo.peakKbps ?? 0) * 1000
    const mpd = await readFile(path.join(packaged, 'manifest.mpd'), 'utf8')
    const dashBandwidth = Number(/<Representation id="0"[^>]*bandwidth="(\d+)"/.exec(mpd)?.[1])
    // The package's segments add a little fMP4 framing to the rendition's packets.
    expect(dashBandwidth).toBeGreaterThanOrEqual(peak)
    expect(dashBandwidth).toBeLessThan(peak * 1.05)
    const master = await readFile(path.join(packaged, 'master.m3u8'), 'utf8')
    const hlsBandwidth = Number(/BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=\d+,RESOLUTION=640x360/.exec(master)?.[1])
    expect(hlsBandwidth).toBeGreaterThanOrEqual(dashBandwidth)
  })
})

describe('livectl quality', () => {
  it('reports per-rung SSIM, PSNR, bit rate and bits per pixel that fall when the bit rate is forced down', async () => {
    const good = await transcode(noisy, 'cbr-ish')
    const starved = path.join(work.dir, 'starved.json')
    await writeFile(starved, JSON.stringify([{name: '360p', shortSide: 360, videoBitrateKbps: 150, audioBitrateKbps: 64}, {name: '144p', shortSide: 144, videoBitrateKbps: 30, audioBitrateKbps: 64}]))
    const bad = await transcode(noisy, 'cbr-ish', starved)
    const measure = async (dir: string) => {
      const result = await runCli(['quality', dir, '--source', noisy, '--json'])
      expect(result.exitCode, result.stderr).toBe(0)
      return JSON.parse(result.stdout) as {rungs: Array<{name: string; ssim: number; ssimDb: number; psnrDb: number; videoKbps: number; bitsPerPixel: number}>}
    }

    const [high, low] = [await measure(good.dir), await measure(bad.dir)]
    expect(high.rungs.map((rung) => rung.name)).toEqual(['360p', '144p'])
    for (const [index, rung] of high.rungs.entries()) {
      const starvedRung = low.rungs[index]
      expect(rung.ssim).toBeGreaterThan(0)
      expect(rung.ssim).toBeLessThanOrEqual(1)
      expect(starvedRung?.videoKbps).toBeLessThan(rung.videoKbps / 2)
      expect(starvedRung?.ssim).toBeLessThan(rung.ssim)
      expect(starvedRung?.psnrDb).toBeLessThan(rung.psnrDb)
      expect(starvedRung?.bitsPerPixel).toBeLessThan(rung.bitsPerPixel)
    }

    const text = await runCli(['quality', good.dir, '--source', noisy])
    expect(text.stdout).toMatch(/360p\s+640x360\s+0\.\d{4}/)
    const missing = await runCli(['quality', good.dir, '--source', path.join(work.dir, 'nope.mp4')])
    expect(missing.exitCode).toBe(2)
    expect(missing.stderr).toMatch(/Source not found/)
  })
})
