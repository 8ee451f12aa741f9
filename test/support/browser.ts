/**
 * Headless Chromium (Debian's, driven by playwright-core) for the watch page tests. Under CI=true
 * a browser that cannot start is a failure, never a skip; elsewhere those suites skip with the reason.
 */
import {existsSync} from 'node:fs'

import {type Browser, chromium} from 'playwright-core'

export const CHROMIUM = process.env.LIVECTL_TEST_CHROMIUM ?? '/usr/bin/chromium'

/**
 * The flags that keep Chromium quiet and off the network: without the background-networking ones
 * it opens connections that a machine without internet refuses, many at a time.
 */
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
]

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({executablePath: CHROMIUM, args: ARGS, headless: true})
}

async function browserStarts(): Promise<boolean> {
  if (!existsSync(CHROMIUM)) return false
  try {
    const browser = await launchBrowser()
    await browser.close()
    return true
  } catch {
    return false
  }
}

/** True when the browser suites must run: Chromium starts, or CI demands it (and the suite then fails). */
export const runBrowserSuites = (await browserStarts()) || Boolean(process.env.CI && process.env.CI !== 'false')
