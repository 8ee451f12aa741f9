/**
 * Which rendition each kind of screen gets: the tallest rendition whose short side is at most the
 * device's maxShortSide and whose peak bandwidth fits its maxBandwidthKbps (and the client's
 * `bandwidth` hint). Configurable with a JSON file of the same shape.
 */
import {UserError} from '../errors.js'
import {readJsonFile} from '../files.js'

export interface DeviceProfile {
  /** Largest short side of the picture, in pixels (the height of a landscape picture). */
  maxShortSide: number
  /** Largest peak bandwidth (video plus audio), kbps. */
  maxBandwidthKbps: number
}

export type DeviceProfiles = Record<string, DeviceProfile>

export const DEFAULT_DEVICE_PROFILES: DeviceProfiles = {
  mobile: {maxShortSide: 480, maxBandwidthKbps: 2000},
  tablet: {maxShortSide: 720, maxBandwidthKbps: 4000},
  laptop: {maxShortSide: 1080, maxBandwidthKbps: 8000},
  desktop: {maxShortSide: 1080, maxBandwidthKbps: 12_000},
  tv: {maxShortSide: 2160, maxBandwidthKbps: 25_000},
}

export function parseDeviceProfiles(definition: unknown, where = 'device profiles'): DeviceProfiles {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw new UserError(`${where}: expected an object of {"device": {"maxShortSide": N, "maxBandwidthKbps": N}}`)
  }

  const profiles: DeviceProfiles = {}
  for (const [name, value] of Object.entries(definition)) {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(name)) throw new UserError(`${where}: invalid device name "${name}"`)
    // "maxHeight" is the key's earlier name, still read.
    const profile = value as (Partial<DeviceProfile> & {maxHeight?: unknown}) | null
    const maxShortSide = profile?.maxShortSide ?? profile?.maxHeight
    const maxBandwidthKbps = profile?.maxBandwidthKbps
    if (typeof maxShortSide !== 'number' || maxShortSide <= 0 || typeof maxBandwidthKbps !== 'number' || maxBandwidthKbps <= 0) {
      throw new UserError(`${where}: "${name}" needs positive maxShortSide and maxBandwidthKbps`)
    }

    profiles[name] = {maxShortSide, maxBandwidthKbps}
  }

  if (Object.keys(profiles).length === 0) throw new UserError(`${where}: no devices defined`)
  return profiles
}

/** The default table, or a JSON file replacing it (--device-profiles / LIVECTL_DEVICE_PROFILES). */
export async function loadDeviceProfiles(file: string | undefined): Promise<DeviceProfiles> {
  if (!file) return DEFAULT_DEVICE_PROFILES
  return parseDeviceProfiles(await readJsonFile(file, new UserError(`Device profiles file not found: ${file}`), `Device profiles file ${file}`), file)
}
