import {mkdtemp, writeFile} from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

import {describe, expect, it} from 'vitest'

import {UserError} from '../../src/lib/errors.js'
import {DEFAULT_LADDER, loadLadder, parseLadderDefinition, planLadder, standardLadder} from '../../src/lib/media/ladder.js'

const defaults = standardLadder(DEFAULT_LADDER)
const sizes = (source: {displayWidth: number; displayHeight: number}, rungs = defaults) =>
  planLadder(source, rungs).map((rendition) => `${rendition.name}:${rendition.width}x${rendition.pixelHeight}`)

describe('planLadder', () => {
  it('gives the whole default ladder for a 1080p source', () => {
    expect(sizes({displayWidth: 1920, displayHeight: 1080})).toEqual(['1080p:1920x1080', '720p:1280x720', '480p:854x480', '144p:256x144'])
  })

  it('never upscales: a 480p source gives 480p and 144p', () => {
    expect(sizes({displayWidth: 854, displayHeight: 480})).toEqual(['480p:854x480', '144p:256x144'])
  })

  it('scales portrait sources by their short side', () => {
    expect(sizes({displayWidth: 1080, displayHeight: 1920})).toEqual(['1080p:1080x1920', '720p:720x1280', '480p:480x854', '144p:144x256'])
  })

  it('keeps a rung just above an odd-sized source at the source size, with even dimensions', () => {
    const planned = planLadder({displayWidth: 1919, displayHeight: 1079}, defaults)
    expect(planned.map((rendition) => [rendition.name, rendition.width, rendition.pixelHeight])).toEqual([
      ['1080p', 1918, 1078],
      ['720p', 1280, 720],
      ['480p', 854, 480],
      ['144p', 256, 144],
    ])
    for (const rendition of planned) {
      expect(rendition.width % 2).toBe(0)
      expect(rendition.pixelHeight % 2).toBe(0)
      expect(rendition.width).toBeLessThanOrEqual(1919)
      expect(rendition.pixelHeight).toBeLessThanOrEqual(1079)
    }
  })

  it('drops a rung more than 10% above the source', () => {
    expect(sizes({displayWidth: 1280, displayHeight: 720})).toEqual(['720p:1280x720', '480p:854x480', '144p:256x144'])
    expect(sizes({displayWidth: 1024, displayHeight: 576})).toEqual(['480p:854x480', '144p:256x144'])
  })

  it('gives one rendition at the source size when the source is smaller than every rung', () => {
    expect(sizes({displayWidth: 160, displayHeight: 90})).toEqual(['144p:160x90'])
  })

  it('keeps the display aspect ratio of non-16:9 sources', () => {
    expect(sizes({displayWidth: 1440, displayHeight: 1080})).toEqual(['1080p:1440x1080', '720p:960x720', '480p:640x480', '144p:192x144'])
    expect(sizes({displayWidth: 1080, displayHeight: 1080})).toEqual(['1080p:1080x1080', '720p:720x720', '480p:480x480', '144p:144x144'])
  })

  it('orders any given ladder tallest first and skips rungs that would collapse onto the same size', () => {
    const rungs = standardLadder(['144p', '1080p', '720p'])
    expect(sizes({displayWidth: 640, displayHeight: 360}, rungs)).toEqual(['144p:256x144'])
    expect(sizes({displayWidth: 3840, displayHeight: 2160}, rungs)).toEqual(['1080p:1920x1080', '720p:1280x720', '144p:256x144'])
  })
})

describe('ladder definitions', () => {
  it('picks standard rungs by name, case-insensitively', () => {
    expect(standardLadder(['720P', ' 144p']).map((rung) => rung.name)).toEqual(['720p', '144p'])
  })

  it('rejects an unknown rung name with the list of known ones', () => {
    expect(() => standardLadder(['999p'])).toThrow(/Unknown ladder rung "999p".*/)
  })

  it('reads a custom ladder with defaults for the optional fields', () => {
    const [rung] = parseLadderDefinition({rungs: [{height: 540, videoBitrateKbps: 2000, audioBitrateKbps: 96}]})
    expect(rung).toEqual({name: '540p', shortSide: 540, videoBitrateKbps: 2000, maxRateKbps: 2140, bufferSizeKbps: 3000, audioBitrateKbps: 96, profile: 'high'})
    // The key says what it means (the short side); "height", its earlier name, is still read.
    expect(parseLadderDefinition([{shortSide: 540, videoBitrateKbps: 2000, audioBitrateKbps: 96}])).toEqual([rung])
  })

  it.each([
    [[], /non-empty array/],
    [[{height: 540, audioBitrateKbps: 96}], /"videoBitrateKbps" must be a positive number/],
    [[{height: 'tall', videoBitrateKbps: 1, audioBitrateKbps: 1}], /"height" must be a positive number/],
    [[{height: 541.5, videoBitrateKbps: 1, audioBitrateKbps: 1}], /"height" must be an integer/],
    [[{height: 540, videoBitrateKbps: 1, audioBitrateKbps: 1, profile: 'high10'}], /"profile" must be baseline, main or high/],
    [[{height: 540, videoBitrateKbps: 1, audioBitrateKbps: 1, name: '../x'}], /"name" must be/],
    [[{height: 540, videoBitrateKbps: 100, maxRateKbps: 50, audioBitrateKbps: 1}], /must not be below/],
    [[{height: 540, videoBitrateKbps: 1, audioBitrateKbps: 1}, {height: 540, videoBitrateKbps: 1, audioBitrateKbps: 1}], /used twice/],
  ])('rejects an invalid ladder %j', (definition, message) => {
    expect(() => parseLadderDefinition(definition)).toThrow(message)
  })

  it('loads a JSON ladder file and reports a broken one as a user error', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ladder-'))
    const good = path.join(dir, 'ladder.json')
    await writeFile(good, JSON.stringify([{name: 'small', height: 200, videoBitrateKbps: 300, audioBitrateKbps: 64, profile: 'baseline'}]))
    expect((await loadLadder(good)).map((rung) => rung.name)).toEqual(['small'])

    const broken = path.join(dir, 'broken.json')
    await writeFile(broken, '{not json')
    await expect(loadLadder(broken)).rejects.toBeInstanceOf(UserError)
    await expect(loadLadder(path.join(dir, 'missing.json'))).rejects.toThrow(/Ladder file not found/)
  })

  it('uses the default ladder when none is given', async () => {
    expect((await loadLadder(undefined)).map((rung) => rung.name)).toEqual(['1080p', '720p', '480p', '144p'])
  })
})
