import {chmod, mkdir, mkdtemp, realpath, symlink, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {findToolWarnings, type ToolReport} from '../../src/lib/media/doctor.js'
import {assertSupportedVersion, parseCapabilities, parseToolVersion, resolveTool} from '../../src/lib/media/tools.js'

describe('parseToolVersion', () => {
  it('reads a release build', () => {
    expect(parseToolVersion('ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026\nlibavutil      57. 28.100\nlibavcodec     59. 37.100\n')).toEqual({version: '5.1.9-0+deb12u1', major: 5})
  })

  it('dates a git build by its libavcodec', () => {
    expect(parseToolVersion('ffprobe version N-66595-gc2b38619c0-static https://x\nlibavcodec     60. 31.102 / 60. 31.102\n')).toEqual({version: 'N-66595-gc2b38619c0-static', major: 6})
  })

  it('falls back to the version number without library lines', () => {
    expect(parseToolVersion('ffmpeg version 4.1.3 Copyright')).toEqual({version: '4.1.3', major: 4})
    expect(parseToolVersion('ffmpeg version n7.0.2')).toEqual({version: 'n7.0.2', major: 7})
  })

  it('refuses FFmpeg older than 5.0 and says how to install a newer one', () => {
    const tool = {name: 'ffmpeg' as const, path: '/opt/old/ffmpeg', source: 'env' as const}
    expect(() => assertSupportedVersion(tool, {version: '4.4.2', major: 4})).toThrow(/needs FFmpeg 5.0 or newer/)
    expect(() => assertSupportedVersion(tool, {version: '4.4.2', major: 4})).toThrow(UserError)
    expect(() => assertSupportedVersion(tool, {version: '5.0', major: 5})).not.toThrow()
  })
})

describe('parseCapabilities', () => {
  const encoders = ' V....D libx264              libx264 H.264\n A..... aac                  AAC (Advanced Audio Coding)\n'
  const muxers = '  E dash            DASH Muxer\n  E hls             Apple HTTP Live Streaming\n  E mp4             MP4 (MPEG-4 Part 14)\n'
  const hlsHelp = '  -hls_segment_type  <int> E.......... (from 0 to 1)\n     mpegts  0\n     fmp4  1\n'
  const dashHelp = '  -dash_segment_type <int>\n  -hls_playlist <boolean>\n'

  it('finds every capability the pipeline needs', () => {
    expect(Object.values(parseCapabilities({encoders, muxers, hlsHelp, dashHelp})).every(Boolean)).toBe(true)
  })

  it('notices a build without libx264 or the dash muxer', () => {
    const capabilities = parseCapabilities({encoders: ' A..... aac   AAC\n V..... libx264rgb  RGB\n', muxers: '  E hls   HLS\n', hlsHelp, dashHelp: ''})
    expect(capabilities).toMatchObject({libx264: false, aac: true, dashMuxer: false, hlsMuxer: true, mp4Muxer: false, dashCmaf: false})
  })
})

describe('resolveTool', () => {
  it('prefers LIVECTL_FFMPEG and checks that it is executable', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tools-'))
    const fake = path.join(dir, 'ffmpeg')
    await writeFile(fake, '#!/bin/sh\n')
    await chmod(fake, 0o755)
    expect(resolveTool('ffmpeg', {LIVECTL_FFMPEG: fake, PATH: ''})).toEqual({name: 'ffmpeg', path: fake, source: 'env'})
    expect(() => resolveTool('ffmpeg', {LIVECTL_FFMPEG: path.join(dir, 'missing'), PATH: ''})).toThrow(/LIVECTL_FFMPEG=.* is not an executable file/)
  })

  it('falls back to PATH and says what it checked when nothing is found', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tools-'))
    const onPath = path.join(dir, 'ffmpeg')
    await writeFile(onPath, '#!/bin/sh\n')
    await chmod(onPath, 0o755)
    // ffmpeg-static is not installable here (no internet), so PATH is next.
    expect(resolveTool('ffmpeg', {PATH: dir})).toEqual({name: 'ffmpeg', path: onPath, source: 'path'})
    expect(() => resolveTool('ffmpeg', {PATH: path.join(dir, 'nowhere')})).toThrow(/ffmpeg was not found/)
  })

})

describe('resolveTool for ffprobe: the build of the ffmpeg livectl runs', () => {
  /** Fake executables in a fresh directory: {dir}/{name} for each name, e.g. 'a/ffmpeg'. */
  async function fakeTools(...names: string[]): Promise<string> {
    const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'tools-')))
    for (const name of names) {
      await mkdir(path.dirname(path.join(dir, name)), {recursive: true})
      await writeFile(path.join(dir, name), '#!/bin/sh\n')
      await chmod(path.join(dir, name), 0o755)
    }

    return dir
  }

  it('lets LIVECTL_FFPROBE win over the ffprobe beside ffmpeg', async () => {
    const dir = await fakeTools('build/ffmpeg', 'build/ffprobe', 'other/ffprobe')
    const env = {LIVECTL_FFMPEG: path.join(dir, 'build/ffmpeg'), LIVECTL_FFPROBE: path.join(dir, 'other/ffprobe'), PATH: ''}
    expect(resolveTool('ffprobe', env)).toEqual({name: 'ffprobe', path: path.join(dir, 'other/ffprobe'), source: 'env'})
  })

  it('takes the ffprobe beside LIVECTL_FFMPEG over one earlier on PATH', async () => {
    const dir = await fakeTools('build/ffmpeg', 'build/ffprobe', 'path/ffprobe')
    const env = {LIVECTL_FFMPEG: path.join(dir, 'build/ffmpeg'), PATH: path.join(dir, 'path')}
    expect(resolveTool('ffprobe', env)).toEqual({name: 'ffprobe', path: path.join(dir, 'build/ffprobe'), source: 'beside-ffmpeg'})
  })

  it('takes the ffprobe beside an ffmpeg found on PATH, even when another ffprobe comes first on PATH', async () => {
    const dir = await fakeTools('first/ffprobe', 'usr-bin/ffmpeg', 'usr-bin/ffprobe')
    const env = {PATH: [path.join(dir, 'first'), path.join(dir, 'usr-bin')].join(path.delimiter)}
    expect(resolveTool('ffmpeg', env).path).toBe(path.join(dir, 'usr-bin/ffmpeg'))
    expect(resolveTool('ffprobe', env)).toEqual({name: 'ffprobe', path: path.join(dir, 'usr-bin/ffprobe'), source: 'beside-ffmpeg'})
  })

  it('follows a symlinked ffmpeg to the directory of the real binary, then looks beside the link', async () => {
    const dir = await fakeTools('opt/ffmpeg-7/ffmpeg', 'opt/ffmpeg-7/ffprobe', 'bin/ffprobe')
    await symlink(path.join(dir, 'opt/ffmpeg-7/ffmpeg'), path.join(dir, 'bin/ffmpeg'))
    expect(resolveTool('ffprobe', {PATH: path.join(dir, 'bin')})).toMatchObject({path: path.join(dir, 'opt/ffmpeg-7/ffprobe'), source: 'beside-ffmpeg'})

    const linkOnly = await fakeTools('opt/ffmpeg', 'bin/ffprobe')
    await symlink(path.join(linkOnly, 'opt/ffmpeg'), path.join(linkOnly, 'bin/ffmpeg'))
    expect(resolveTool('ffprobe', {PATH: path.join(linkOnly, 'bin')})).toMatchObject({path: path.join(linkOnly, 'bin/ffprobe'), source: 'beside-ffmpeg'})
  })

  it('falls back to ffprobe on PATH when none sits beside ffmpeg', async () => {
    const dir = await fakeTools('build/ffmpeg', 'path/ffprobe')
    const env = {LIVECTL_FFMPEG: path.join(dir, 'build/ffmpeg'), PATH: path.join(dir, 'path')}
    expect(resolveTool('ffprobe', env)).toEqual({name: 'ffprobe', path: path.join(dir, 'path/ffprobe'), source: 'path'})
  })

  it('takes the npm package\'s ffprobe only when nothing else exists', async () => {
    const dir = await fakeTools('build/ffmpeg')
    expect(resolveTool('ffprobe', {LIVECTL_FFMPEG: path.join(dir, 'build/ffmpeg'), PATH: ''}).source).toBe('npm')
    expect(resolveTool('ffprobe', {PATH: ''}).source).toBe('npm')
  })
})

describe('findToolWarnings', () => {
  const tool = (name: 'ffmpeg' | 'ffprobe', version: string, source: ToolReport['source'] = 'path'): ToolReport => ({name, found: true, path: `/x/${name}`, source, version, major: 5, supported: true})

  it('warns when ffmpeg and ffprobe come from different builds', () => {
    const warnings = findToolWarnings(tool('ffmpeg', '5.1.9-0+deb12u1'), tool('ffprobe', 'N-66595-gc2b38619c0-static', 'npm'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/5\.1\.9-0\+deb12u1 .* N-66595-gc2b38619c0-static/)
    expect(warnings[0]).toContain('LIVECTL_FFPROBE')
  })

  it('says nothing when both are the same build, or one was not found', () => {
    expect(findToolWarnings(tool('ffmpeg', '5.1.9-0+deb12u1'), tool('ffprobe', '5.1.9-0+deb12u1', 'beside-ffmpeg'))).toEqual([])
    expect(findToolWarnings(tool('ffmpeg', '5.1.9'), {name: 'ffprobe', found: false, supported: false})).toEqual([])
  })
})
