/**
 * Which device profile a screen is, and which renditions a player on it may play. Pure: unit-tested
 * in Node, run in the browser.
 */

export interface ScreenFacts {
  /** The screen's size in CSS pixels (what `screen.width`/`height` report, whatever the device-pixel ratio). */
  widthCss: number
  heightCss: number
  /** The primary pointer is a finger (`(pointer: coarse)`). */
  coarsePointer: boolean
}

export type DeviceGuess = 'mobile' | 'tablet' | 'laptop' | 'desktop'

/** Short sides below these (CSS px) are phones and tablets when the pointer is a finger. */
const PHONE_MAX_SHORT_SIDE = 600
const TABLET_MAX_SHORT_SIDE = 1100
/** A mouse on a screen no taller than this is a laptop. */
const LAPTOP_MAX_SHORT_SIDE = 1000

/**
 * A phone-sized screen is `mobile` whatever its device-pixel ratio (a 390x844 phone at 3x is still
 * a phone) and whatever its pointer (no laptop is that small); a larger touch screen a `tablet`;
 * with a mouse, `laptop` or `desktop` by size.
 */
export function guessDevice(screen: ScreenFacts): DeviceGuess {
  const shortSide = Math.min(screen.widthCss, screen.heightCss)
  if (shortSide < PHONE_MAX_SHORT_SIDE) return 'mobile'
  if (screen.coarsePointer && shortSide < TABLET_MAX_SHORT_SIDE) return 'tablet'
  return shortSide <= LAPTOP_MAX_SHORT_SIDE ? 'laptop' : 'desktop'
}

export interface Rendition {
  name: string
  width?: number
  height?: number
  /** Peak bits per second of the video. */
  bandwidth: number
}

export const shortSide = (rendition: {width?: number; height?: number}) => Math.min(rendition.width ?? 0, rendition.height ?? 0)

/** Renditions a device capped at `cap` may play: none larger or more demanding than the cap itself. */
export function allowedRenditions<T extends Rendition>(renditions: readonly T[], cap: Rendition | undefined): T[] {
  if (!cap) return [...renditions]
  return renditions.filter((rendition) => shortSide(rendition) <= shortSide(cap) && rendition.bandwidth <= cap.bandwidth)
}

/** The rendition a decoded picture of this size belongs to: the same height (width may differ by rounding or pixel aspect), else the closest. */
export function renditionForPicture<T extends Rendition>(renditions: readonly T[], picture: {width: number; height: number}): T | undefined {
  let best: T | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const rendition of renditions) {
    const distance = Math.abs((rendition.height ?? 0) - picture.height) * 10 + Math.abs((rendition.width ?? 0) - picture.width)
    if (distance < bestDistance) {
      best = rendition
      bestDistance = distance
    }
  }

  return best
}
