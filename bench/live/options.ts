/**
 * The options of bench/live: the glass-to-publish part, the glass-to-glass part (`--glass`), and
 * the stall scenario of the latter (`--stall N`).
 */
import process from 'node:process'
import {parseArgs} from 'node:util'

export const DEFAULTS = {pushSeconds: 36, rungSeconds: 30, segments: [2, 1]}

/** The stall scenario: the window before the stall, and the one after recovery that is compared with it. */
export const STALL_BEFORE_SECONDS = 10
export const STALL_AFTER_SECONDS = 20
/** Frames pushed in the first seconds are start-up (the ingest probes, the player joins): not counted in glass to glass. */
export const GLASS_WARMUP_SECONDS = 12

/** The push of a stall run: long enough for the warm-up, the window before the stall, the stall, the player's recovery and the window after it. */
export function stallPushSeconds(stallSeconds: number, pushSeconds: number): number {
  return Math.max(pushSeconds, GLASS_WARMUP_SECONDS + STALL_BEFORE_SECONDS + stallSeconds + STALL_AFTER_SECONDS + 5)
}

export interface LiveOptions {
  llParts: number[]
  pushSeconds: number
  rungSeconds: number
  segments: number[]
  skipRungs: boolean
  skipSamePush: boolean
  keep: boolean
  renderOnly: boolean
  glass: boolean
  skipGlass: boolean
  glassRounds: number
  /** Hold the origin's responses this long in the middle of a glass-to-glass push; undefined: no stall scenario. */
  stallSeconds?: number
}

export function parseOptions(): LiveOptions {
  const {values} = parseArgs({
    options: {
      'push-seconds': {type: 'string', default: String(DEFAULTS.pushSeconds)},
      'rung-seconds': {type: 'string', default: String(DEFAULTS.rungSeconds)},
      segments: {type: 'string', default: DEFAULTS.segments.join(',')},
      'skip-rungs': {type: 'boolean', default: false},
      'skip-same-push': {type: 'boolean', default: false},
      keep: {type: 'boolean', default: false},
      'render-only': {type: 'boolean', default: false},
      glass: {type: 'boolean', default: false},
      'glass-rounds': {type: 'string', default: '2'},
      'skip-glass': {type: 'boolean', default: false},
      'll-parts': {type: 'string', default: '0.333,0.2,0.5,1'},
      stall: {type: 'string'},
      help: {type: 'boolean', short: 'h', default: false},
    },
  })
  if (values.help) {
    process.stdout.write(
      'Usage: npx tsx bench/live/main.ts [--push-seconds N (default 36)] [--rung-seconds N (default 30)] [--segments 2,1] [--skip-rungs] [--skip-same-push] [--keep] [--glass] [--glass-rounds 2] [--ll-parts 0.333,0.2,0.5,1 ("" for none)] [--stall SECONDS]\n' +
        '       npx tsx bench/live/main.ts --render-only    rewrites the section from the measurements the last run saved in .bench-work/live/report.json\n' +
        '       --stall N: glass to glass also plays LL-HLS and LL-DASH with the origin\'s answers held for N s in the middle of each push, and compares the latency before and after\n',
    )
    process.exit(0)
  }

  const pushSeconds = Number(values['push-seconds'])
  const rungSeconds = Number(values['rung-seconds'])
  // "" for none: the low-latency settings alone.
  const segments = values.segments === '' ? [] : values.segments.split(',').map(Number)
  for (const [name, value] of [['--push-seconds', pushSeconds], ['--rung-seconds', rungSeconds]] as const) {
    if (!Number.isInteger(value) || value < 12 || value > 600) throw new Error(`${name} must be a whole number of seconds from 12 to 600 (got ${value})`)
  }

  if (segments.some((value) => !Number.isInteger(value) || value < 1 || value > 10)) throw new Error(`--segments must list whole seconds from 1 to 10 (got ${values.segments})`)
  const llParts = values['ll-parts'] === '' ? [] : values['ll-parts'].split(',').map(Number)
  if (llParts.some((value) => !(value >= 0.1 && value <= 1))) throw new Error(`--ll-parts must list part durations from 0.1 to 1 s (got ${values['ll-parts']})`)
  const stallSeconds = values.stall === undefined ? undefined : Number(values.stall)
  if (stallSeconds !== undefined && !(stallSeconds >= 1 && stallSeconds <= 60)) throw new Error(`--stall must be from 1 to 60 seconds (got ${values.stall})`)

  return {
    llParts, pushSeconds, rungSeconds, segments, skipRungs: values['skip-rungs'], skipSamePush: values['skip-same-push'], keep: values.keep, renderOnly: values['render-only'],
    glass: values.glass, skipGlass: values['skip-glass'], glassRounds: Number(values['glass-rounds']), stallSeconds,
  }
}
