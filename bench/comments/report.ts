/**
 * The `## Comment delivery` section of BENCHMARKS.md, from the rounds of bench/comments/main.ts.
 */
import type {MachineFacts} from '../support/report.js'
import {measuredAt} from '../support/report.js'
import type {RunningServer} from '../support/spawn.js'
import {median} from '../support/stats.js'

export const LISTENER_PROCESSES = 2

export interface CommentsOptions {
  streams: number
  comments: number
  intervalMs: number
  rounds: number
}

export interface Contender {
  id: string
  label: string
  /** Its servers: comments are posted to the first, streams open on the last. */
  start(): Promise<RunningServer[]>
}

export interface RoundResult {
  round: number
  contender: string
  streams: number
  comments: number
  samples: number
  missing: number
  errors: number
  repeated: number
  /** Delivery times, ms. */
  p50?: number
  p99?: number
  max: number
  rssBeforeMb: number
  rssAfterMb: number
  kibPerStream: number
  cpuSeconds: number
  postSeconds: number
}

export interface CommentsReport {
  options: CommentsOptions
  startedAt: Date
  loadAtStart: string
  loadAtEnd: string
  machine: MachineFacts
  contenders: Contender[]
  rounds: RoundResult[]
  notes: string[]
}

interface ContenderSummary {
  p50: number
  p99: number
  p99Max: number
  max: number
  kib: number
  missing: number
  repeated: number
  samples: number
  cpu: number
}

export function render(report: CommentsReport): string {
  const fmt = (value: number | undefined, digits = 1) => (value === undefined || Number.isNaN(value) ? '-' : value.toFixed(digits))
  const byContender = (id: string) => report.rounds.filter((round) => round.contender === id)
  const summary = (id: string): ContenderSummary | undefined => {
    const rounds = byContender(id)
    if (rounds.length === 0) return undefined
    return {
      p50: median(rounds.map((round) => round.p50 ?? Number.NaN)),
      p99: median(rounds.map((round) => round.p99 ?? Number.NaN)),
      p99Max: Math.max(...rounds.map((round) => round.p99 ?? Number.NaN)),
      max: Math.max(...rounds.map((round) => round.max)),
      kib: median(rounds.map((round) => round.kibPerStream)),
      missing: rounds.reduce((sum, round) => sum + round.missing, 0),
      repeated: rounds.reduce((sum, round) => sum + round.repeated, 0),
      samples: rounds.reduce((sum, round) => sum + round.samples, 0),
      cpu: median(rounds.map((round) => round.cpuSeconds / round.postSeconds)),
    }
  }

  const rows = report.contenders.flatMap((contender) => {
    const found = summary(contender.id)
    return found ? [{contender, summary: found}] : []
  })
  const livectl = summary('livectl')
  const ceiling = summary('ceiling')
  const lines = [
    '## Comment delivery',
    '',
    `Measured ${measuredAt(report.startedAt)} with \`npx tsx bench/comments/main.ts --streams ${report.options.streams} --comments ${report.options.comments} --interval-ms ${report.options.intervalMs} --rounds ${report.options.rounds}\` (\`npm run bench:comments\` builds first and runs the defaults).`,
    '',
    `- Machine: ${report.machine.cores} cores (nproc), ${report.machine.cpuModel}, ${report.machine.memoryGib.toFixed(1)} GiB RAM, ${report.machine.kernel}; Node ${report.machine.node}. Load average (1, 5, 15 min) at start: ${report.loadAtStart}; at end: ${report.loadAtEnd}.`,
    `- Load: ${report.options.streams} open \`GET /video/comments/stream?video_id=bench\` connections from ${LISTENER_PROCESSES} listener processes (\`bench/comments/listeners.mjs\`, node:http), then ${report.options.comments} comments posted one after another, one every ${report.options.intervalMs} ms, by this process. **Delivery time** of a comment on a stream: when its event arrived there, minus when its \`POST /comment\` was sent (both from \`performance.timeOrigin + performance.now()\` of their processes: the same system clock). Every (comment, stream) pair is a sample; p50 and p99 per round, then the median over ${report.options.rounds} alternating rounds (max: the worst round).`,
    '- Contenders: (a) `livectl serve` on SQLite, streams and posts on the same server: the process that stores a comment wakes its feed at once; (b) two `livectl serve` replicas on one MySQL (MariaDB on this machine), streams on one, posts to the other: the streams\' replica sees the comment when it next polls the catalog (every 100 ms); (c) the ceiling, `bench/comments/sse-ceiling.mjs`: plain node:http writing the event to every stream as the POST arrives, no database, validation or framework.',
    '- Memory per open stream: the growth of the streams\' server RSS from before the streams opened to when all were open, divided by the number of streams. CPU: seconds of CPU of the server process(es) per second of posting.',
    '',
    '| contender | p50 (ms) | p99 (ms) | worst round p99 | max (ms) | samples | lost | twice | memory per stream (KiB) | server CPU (cores) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({contender, summary: s}) => `| ${contender.label} | ${fmt(s.p50)} | **${fmt(s.p99)}** | ${fmt(s.p99Max)} | ${fmt(s.max)} | ${s.samples} | ${s.missing} | ${s.repeated} | ${fmt(s.kib)} | ${fmt(s.cpu, 2)} |`),
    '',
    '| check | value | target | |',
    '|---|---:|---:|---|',
    `| livectl, one server: p99 delivery to ${report.options.streams} streams | ${fmt(livectl?.p99)} ms | < 100 ms | ${livectl && livectl.p99 < 100 ? '**met**' : '**not met**'} |`,
    `| livectl p99 / ceiling p99 (same run) | ${livectl && ceiling ? fmt(livectl.p99 / ceiling.p99, 2) : '-'} | | |`,
    `| comments lost, and comments a stream got twice (all contenders, all rounds) | ${rows.reduce((sum, row) => sum + row.summary.missing, 0)} lost, ${rows.reduce((sum, row) => sum + row.summary.repeated, 0)} twice | 0 | |`,
    '',
    ...(report.notes.length > 0 ? ['Notes:', '', ...report.notes.map((note) => `- ${note}`), ''] : []),
    'Every round, in the order it ran:',
    '',
    '| round | contender | p50 (ms) | p99 (ms) | max (ms) | samples | missing | RSS before / after (MB) | KiB per stream |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...report.rounds.map((round) => `| ${round.round} | ${round.contender} | ${fmt(round.p50)} | ${fmt(round.p99)} | ${fmt(round.max)} | ${round.samples} | ${round.missing} | ${fmt(round.rssBeforeMb)} / ${fmt(round.rssAfterMb)} | ${fmt(round.kibPerStream)} |`),
    '',
  ]
  return lines.join('\n')
}
