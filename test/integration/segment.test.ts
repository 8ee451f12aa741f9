/**
 * `segment` with real ffmpeg: one CMAF segment set behind an HLS master and a DASH MPD, checked
 * with the parsers players use; refusal of misaligned renditions; formats; atomic output.
 */
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import path from 'node:path'

import m3u8 from 'm3u8-parser'
import mpd from 'mpd-parser'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {avcCodecString} from '../../src/lib/media/codecs.js'
import {standardLadder} from '../../src/lib/media/ladder.js'
import {probeSource} from '../../src/lib/media/probe.js'
import type {RenditionsManifest} from '../../src/lib/media/renditions.js'
import {transcodeLadder} from '../../src/lib/media/transcode.js'
import type {PackageManifest} from '../../src/lib/package/manifest.js'
import {segmentPackage} from '../../src/lib/package/segment.js'
import {runCli} from '../support/cli.js'
import {decodeCleanly, makeClip, makeTempDir} from '../support/media.js'

let work: {dir: string; cleanup: () => Promise<void>}
let renditionsDir: string
let silentDir: string
let transcoded: RenditionsManifest

const parseM3u8 = (text: string) => {
  const parser = new m3u8.Parser()
  parser.push(text)
  parser.end()
  return parser.manifest
}

beforeAll(async () => {
  work = await makeTempDir('livectl-segment-')
  const [withAudio, silent] = await Promise.all([
    makeClip(work.dir, 'clip.mp4', {width: 640, height: 360, durationSeconds: 5, audio: 'stereo'}),
    makeClip(work.dir, 'silent.mp4', {width: 320, height: 180, durationSeconds: 3, audio: 'none'}),
  ])
  renditionsDir = path.join(work.dir, 'renditions')
  silentDir = path.join(work.dir, 'silent-renditions')
  const [first] = (await Promise.all([
    transcodeLadder({input: withAudio, outputDir: renditionsDir, rungs: standardLadder(['360p', '240p', '144p']), segmentDurationSeconds: 2, preset: 'ultrafast'}),
    transcodeLadder({input: silent, outputDir: silentDir, rungs: standardLadder(['144p']), segmentDurationSeconds: 1, preset: 'ultrafast'}),
  ])) as RenditionsManifest[]
  transcoded = first as RenditionsManifest
})

afterAll(async () => {
  await work?.cleanup()
})

describe('segment', () => {
  let pkg: PackageManifest
  let pkgDir: string

  beforeAll(async () => {
    pkgDir = path.join(work.dir, 'pkg')
    pkg = (await segmentPackage({inputDir: renditionsDir, outputDir: pkgDir, formats: ['hls', 'dash']})) as PackageManifest
  })

  it('writes an HLS master with BANDWIDTH, RESOLUTION and CODECS and one media playlist per rendition', async () => {
    const master = parseM3u8(await readFile(path.join(pkgDir, 'master.m3u8'), 'utf8'))
    expect(master.playlists?.map((variant) => variant.attributes.RESOLUTION)).toEqual([
      {width: 640, height: 360},
      {width: 426, height: 240},
      {width: 256, height: 144},
    ])
    for (const [index, variant] of (master.playlists ?? []).entries()) {
      const rendition = transcoded.renditions[index]
      expect(variant.attributes.CODECS).toBe(rendition?.codecs)
      expect(variant.attributes.BANDWIDTH).toBeGreaterThan(Number(variant.attributes['AVERAGE-BANDWIDTH']))
      const media = parseM3u8(await readFile(path.join(pkgDir, variant.uri), 'utf8'))
      expect(media.endList).toBe(true)
      expect(media.segments.map((segment) => segment.duration)).toEqual([2, 2, 1])
    }

    const audioGroup = master.mediaGroups?.AUDIO?.audio
    expect(Object.keys(audioGroup ?? {})).toEqual(['default'])
  })

  it('references the same CMAF segments from the DASH MPD, audio packaged once', async () => {
    const manifestPath = path.join(pkgDir, 'manifest.mpd')
    const parsed = mpd.parse(await readFile(manifestPath, 'utf8'), {manifestUri: `file://${manifestPath}`})
    expect(parsed.playlists).toHaveLength(3)
    const audio = Object.values(parsed.mediaGroups.AUDIO ?? {}).flatMap((group) => Object.values(group).flatMap((entry) => entry.playlists))
    expect(audio).toHaveLength(1)
    const hlsSegments = new Set(pkg.renditions.flatMap((track) => track.segments.map((segment) => segment.file)))
    const dashSegments = new Set(parsed.playlists.flatMap((playlist) => playlist.segments.map((segment) => path.basename(segment.resolvedUri))))
    expect(dashSegments).toEqual(hlsSegments)
  })

  it('records every segment with index, start, duration and size in livectl-package.json', async () => {
    const written = JSON.parse(await readFile(path.join(pkgDir, 'livectl-package.json'), 'utf8')) as PackageManifest
    expect(written).toEqual(pkg)
    expect(pkg.durationSeconds).toBeCloseTo(5, 1)
    const video = pkg.renditions[0]
    expect(video?.segments.map(({index, startSeconds, durationSeconds}) => [index, startSeconds, durationSeconds])).toEqual([[0, 0, 2], [1, 2, 2], [2, 4, 1]])
    const files = await readdir(pkgDir)
    for (const track of [...pkg.renditions, pkg.audio]) {
      expect(track?.init.sizeBytes).toBeGreaterThan(0)
      for (const segment of track?.segments ?? []) {
        expect(files).toContain(segment.file)
        expect(segment.sizeBytes).toBeGreaterThan(0)
      }
    }

    expect(pkg.audio?.segments.reduce((sum, segment) => sum + segment.durationSeconds, 0)).toBeCloseTo(5, 1)
    expect(pkg.totalFiles).toBe(files.length - 1) // everything but livectl-package.json itself
  })

  it('makes segments that decode when appended to their init segment', async () => {
    for (const track of [pkg.renditions[0], pkg.audio]) {
      const segment = track?.segments[1]
      const joined = path.join(work.dir, `joined-${track?.id}.mp4`)
      await writeFile(joined, Buffer.concat([await readFile(path.join(pkgDir, track?.init.file as string)), await readFile(path.join(pkgDir, segment?.file as string))]))
      await decodeCleanly(joined)
    }
  })

  it('packages a silent source without an audio group or adaptation set', async () => {
    const silentPkg = (await segmentPackage({inputDir: silentDir, outputDir: path.join(work.dir, 'silent-pkg'), formats: ['hls', 'dash']})) as PackageManifest
    expect(silentPkg.audio).toBeUndefined()
    const master = await readFile(path.join(work.dir, 'silent-pkg', 'master.m3u8'), 'utf8')
    expect(master).not.toContain('TYPE=AUDIO')
    const mpdText = await readFile(path.join(work.dir, 'silent-pkg', 'manifest.mpd'), 'utf8')
    expect(mpdText).not.toContain('contentType="audio"')
    expect(silentPkg.renditions[0]?.segments.map((segment) => segment.durationSeconds)).toEqual([1, 1, 1])
  })

  it('writes only the formats asked for', async () => {
    const hlsOnly = (await segmentPackage({inputDir: renditionsDir, outputDir: path.join(work.dir, 'hls-only'), formats: ['hls']})) as PackageManifest
    const hlsFiles = await readdir(path.join(work.dir, 'hls-only'))
    expect(hlsFiles).toContain('master.m3u8')
    expect(hlsFiles).not.toContain('manifest.mpd')
    expect(hlsOnly.dashManifest).toBeUndefined()

    const dashOnly = (await segmentPackage({inputDir: renditionsDir, outputDir: path.join(work.dir, 'dash-only'), formats: ['dash']})) as PackageManifest
    const dashFiles = await readdir(path.join(work.dir, 'dash-only'))
    expect(dashFiles).toContain('manifest.mpd')
    expect(dashFiles.filter((file) => file.endsWith('.m3u8'))).toEqual([])
    expect(dashOnly.renditions.every((track) => track.playlist === undefined)).toBe(true)
  })

  it('accepts a segment duration that is a multiple of the GOP', async () => {
    const longer = (await segmentPackage({inputDir: renditionsDir, outputDir: path.join(work.dir, 'four'), formats: ['hls'], segmentDurationSeconds: 4})) as PackageManifest
    expect(longer.renditions[0]?.segments.map((segment) => segment.durationSeconds)).toEqual([4, 1])
  })
})

describe('segment command', () => {
  it('prints the package manifest under --json', async () => {
    const out = path.join(work.dir, 'cli-pkg')
    const result = await runCli(['segment', renditionsDir, '-o', out, '--json'])
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(await readFile(path.join(out, 'livectl-package.json'), 'utf8')))
  })

  it('refuses renditions whose keyframes do not line up with the segments, and writes nothing', async () => {
    const out = path.join(work.dir, 'cli-misaligned')
    const result = await runCli(['segment', renditionsDir, '-o', out, '--segment-duration', '3'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/keyframes are not aligned at 3 s segment boundaries: 360p has no keyframe at 3\.000 s/)
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
  })

  it('refuses renditions encoded with camera-style GOPs', async () => {
    // The generated source has a keyframe only every 250 frames: not packageable as 2 s segments.
    const fake = path.join(work.dir, 'camera-gop')
    await runCli(['transcode', path.join(work.dir, 'clip.mp4'), '-o', fake, '--ladder', '144p', '--preset', 'ultrafast'])
    const manifest = JSON.parse(await readFile(path.join(fake, 'renditions.json'), 'utf8')) as RenditionsManifest
    await writeFile(path.join(fake, '144p.mp4'), await readFile(path.join(work.dir, 'clip.mp4')))
    // renditions.json tells the truth about the swapped file, so the keyframe check is what refuses it.
    const facts = await probeSource(path.join(fake, '144p.mp4'))
    Object.assign(manifest.renditions[0] as object, {
      width: facts.video.width, height: facts.video.height, videoCodec: avcCodecString(facts.video.profile, facts.video.level), sizeBytes: (await stat(path.join(fake, '144p.mp4'))).size,
    })
    await writeFile(path.join(fake, 'renditions.json'), JSON.stringify(manifest))
    const result = await runCli(['segment', fake, '-o', path.join(work.dir, 'camera-pkg')])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/144p has no keyframe at 2\.000 s/)
  })

  it('explains that a directory is not a transcode output', async () => {
    const result = await runCli(['segment', work.dir, '-o', path.join(work.dir, 'nothing')])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/is not a transcode output: renditions\.json is missing/)
  })

  it('rejects an unknown format', async () => {
    const result = await runCli(['segment', renditionsDir, '--format', 'smooth'])
    expect(result.exitCode).toBe(2)
    expect(result.stderr).toMatch(/Unknown format "smooth"/)
  })

  it('--dry-run shows the packaging command and writes nothing', async () => {
    const out = path.join(work.dir, 'cli-dry')
    const result = await runCli(['segment', renditionsDir, '-o', out, '--dry-run', '--json'])
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({dryRun: true, formats: ['hls', 'dash'], segmentDurationSeconds: 2})
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
  })
})
