/**
 * What bench/api measures: the scenarios, the fixed rate and warm-up, and the shape of each load
 * run's result (autocannon's and paced-load's in one).
 */
import type {ProcessExit} from '../support/spawn.js'

export const VIDEO_ID = 'bench'
const TIME_PATH = `/video/time?id=${VIDEO_ID}&device=mobile&offset=0`
export const FIXED_RATE = 1000
/** Enough for 1,000 req/s at a few milliseconds each without queueing in the load generator. */
export const FIXED_RATE_CONNECTIONS = 20
/** Sent before every measured run and not counted: JIT, connection pools and the package cache warm up. */
export const WARMUP_REQUESTS = 1000
export const TARGETS = {throughputRatioMin: 0.5, p99AtRateMaxMs: 10, rateHeldMin: 0.95}

export interface Scenario {
  label: string
  method: 'GET' | 'POST'
  path: string
  body?: string
  /** Flat out (autocannon), or at FIXED_RATE (paced-load). */
  mode: 'max' | 'rate'
  expectedStatus: number
  expectedItemsMin?: number
}

export type ScenarioId = 'tiny' | 'time' | 'timeAtRate' | 'comment'

export const SCENARIOS: Record<ScenarioId, Scenario> = {
  tiny: {label: '`GET /tiny`, a 51-byte constant (reference)', method: 'GET', path: '/tiny', mode: 'max', expectedStatus: 200},
  time: {
    label: '`GET /video/time`',
    method: 'GET',
    path: TIME_PATH,
    mode: 'max',
    expectedStatus: 200,
    expectedItemsMin: 1,
  },
  timeAtRate: {label: `\`GET /video/time\` at ${FIXED_RATE.toLocaleString('en-US')} req/s`, method: 'GET', path: TIME_PATH, mode: 'rate', expectedStatus: 200},
  comment: {
    label: '`POST /comment` (a new comment each)',
    method: 'POST',
    path: '/comment',
    body: JSON.stringify({data: 'benchmark comment', author: 'bench', video_id: VIDEO_ID}),
    mode: 'max',
    expectedStatus: 201,
  },
}

/** What the ceiling server runs, first and last in every round; the catalogs' servers run the others in between. */
export const CEILING_SCENARIOS: readonly ScenarioId[] = ['tiny', 'time', 'timeAtRate', 'comment']
export const CATALOG_SCENARIOS: readonly ScenarioId[] = ['time', 'timeAtRate', 'comment']
export const CEILING_ID = 'ceiling'

export interface ApiOptions {
  durationSeconds: number
  connections: number
  runs: number
  mysql: boolean
  keep: boolean
}

/** One load run, from autocannon or paced-load, in one shape. */
export interface LoadResult {
  command: string
  generator: 'autocannon' | 'paced-load'
  requestsPerSecond: number
  totalRequests: number
  /** paced-load only: requests sent. */
  sent?: number
  latencyMs: {average: number; p50: number; p90: number; p99: number; p999?: number; max: number}
  latencyFromHandOffMs?: {p50: number; p90: number; p99: number; max: number}
  sendLagMs?: {p50: number; p99: number; max: number}
  bytesPerResponse: number
  errors: number
  timeouts: number
  non2xx: number
  statusCodes: Record<string, number>
  serverCpuPercent: number
  machineBusyPercent: number
}

export interface Measurement extends LoadResult {
  round: number
  scenarioId: ScenarioId
  targetId: string
  /** The ceiling's runs: first or last in the round. */
  position?: 'first' | 'last'
}

export interface CatalogUnderTest {
  id: string
  name: string
  dataDir: string
  /** --db; undefined for SQLite in the data directory. */
  db?: string
  version?: string
  database?: string
  /** How the server names its catalog when it starts. */
  display?: string
  video?: {status: string; durationSeconds: number}
}

/** What one request of a scenario answered before the load. */
export interface SanityCheck {
  status: number
  ok: boolean
  bytes: number
  items?: number
  excerpt: string
}

export interface ServerSummary {
  id: string
  peakRssMb?: number
  stopped?: ProcessExit
}
