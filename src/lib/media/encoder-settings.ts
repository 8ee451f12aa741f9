/**
 * The x264 presets livectl offers, in one neutral room: transcode (VOD), rate control, live ingest
 * and the commands' flags all read them here, so none of them imports another for them.
 */
import {UserError} from '../errors.js'

export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const
export type X264Preset = (typeof X264_PRESETS)[number]

/** The preset, or a UserError naming the ones there are. */
export function validatePreset(preset: string): X264Preset {
  if (!(X264_PRESETS as readonly string[]).includes(preset)) {
    throw new UserError(`Unknown x264 preset "${preset}"`, {hint: `Use one of: ${X264_PRESETS.join(', ')}`})
  }

  return preset as X264Preset
}
