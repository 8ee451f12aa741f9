/**
 * Packaging an audio-only source (renditions.json with `hasVideo: false`): its one AAC file is
 * checked against what renditions.json says before `segment` packages it alone, as one audio
 * track with no video renditions and no keyframes to align.
 */
import {stat} from 'node:fs/promises'
import path from 'node:path'

import {UserError} from '../errors.js'
import type {AudioRendition} from '../media/renditions.js'
import {isAudioOnly, probeMedia} from '../media/probe.js'

/** The file is there, of the size written down, and holds audio and no video. */
export async function checkAudioRenditionFile(inputDir: string, rendition: AudioRendition, signal?: AbortSignal): Promise<void> {
  const file = path.join(inputDir, rendition.file)
  const hint = 'renditions.json does not describe these files: re-run `livectl transcode` for this directory (never edit renditions.json by hand).'
  const sizeBytes = await stat(file).then((info) => info.size, () => undefined)
  if (sizeBytes === undefined) throw new UserError(`Rendition file missing: ${file}`, {hint: 'Re-run transcode for this directory.'})
  let facts
  try {
    facts = await probeMedia(file, {signal})
  } catch (error) {
    if (!(error instanceof UserError)) throw error
    throw new UserError(`Rendition ${rendition.name} (${file}) is not readable audio: ${error.message}`, {cause: error, hint: 'The file is damaged: re-run `livectl transcode` for this directory.'})
  }

  const disagreements: string[] = []
  if (sizeBytes !== rendition.sizeBytes) disagreements.push(`${rendition.sizeBytes} bytes written down, ${sizeBytes} on disk`)
  if (!isAudioOnly(facts)) disagreements.push('audio only written down, video in the file')
  if (disagreements.length > 0) throw new UserError(`Rendition ${rendition.name} (${file}) does not match renditions.json: ${disagreements.join('; ')}`, {hint})
}
