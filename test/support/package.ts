/** A small real package (two renditions and audio, 6 s of 2 s segments) for catalog and API tests. */
import path from 'node:path'

import {standardLadder} from '../../src/lib/media/ladder.js'
import {transcodeLadder} from '../../src/lib/media/transcode.js'
import type {PackageManifest} from '../../src/lib/package/manifest.js'
import {segmentPackage} from '../../src/lib/package/segment.js'
import {makeClip} from './media.js'

export async function makePackage(dir: string, name = 'clip'): Promise<{packageDir: string; manifest: PackageManifest}> {
  const source = await makeClip(dir, `${name}.mp4`, {width: 640, height: 360, durationSeconds: 6, audio: 'stereo'})
  const renditions = path.join(dir, `${name}-renditions`)
  await transcodeLadder({input: source, outputDir: renditions, rungs: standardLadder(['360p', '144p']), segmentDurationSeconds: 2, preset: 'ultrafast'})
  const packageDir = path.join(dir, `${name}-package`)
  const manifest = (await segmentPackage({inputDir: renditions, outputDir: packageDir, formats: ['hls', 'dash']})) as PackageManifest
  return {packageDir, manifest}
}
