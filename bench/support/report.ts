/**
 * Writing the report: BENCHMARKS.md sections, the commands as one would paste them, and the facts
 * about the machine every section starts with.
 */
import {readFileSync} from 'node:fs'
import {readFile, writeFile} from 'node:fs/promises'
import os from 'node:os'
import process from 'node:process'

/** A command as one might paste it into a POSIX shell (for the report only; nothing runs it). */
export function formatCommand(file: string, args: readonly string[]): string {
  const quote = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)
  return [file, ...args].map(quote).join(' ')
}

/** A fenced shell block of `lines`. */
export function fence(lines: readonly string[]): string[] {
  return ['```sh', ...lines, '```']
}

/** A number to `digits` decimals, or `missing` when there is none. */
export const fixed = (digits: number, missing = '-') => (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? missing : value.toFixed(digits)

/** A date to the second, as every section's "Measured ..." line gives it. */
export function measuredAt(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z')
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export interface MachineFacts {
  cores: number
  cpuModel: string
  memoryGib: number
  kernel: string
  node: string
}

export function machineFacts(): MachineFacts {
  let cpuModel = 'unknown'
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel
  } catch {
    // not Linux: keep "unknown"
  }

  return {
    cores: os.availableParallelism(),
    cpuModel,
    memoryGib: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
  }
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(', ')
}

const TITLE = '# Benchmarks'
const INTRO =
  'Numbers here are produced by the scripts in `bench/` (`npm run bench:NAME`), which write their own section of this file. ' +
  'Each benchmark generates its own input, runs the contenders alternately in one session so that drift in machine load ' +
  'affects all of them alike, and reports medians with the min and max. Wall time is measured from spawn to exit; peak ' +
  'memory is the highest total RSS of the whole process tree, sampled every 50 ms from /proc. Absolute times depend on ' +
  'the machine named in each section; compare ratios, not seconds, across machines.'

/**
 * Writes `section` (starting with its own `## Heading` line) into the markdown file, replacing the
 * section with the same heading up to the next `## ` heading, or appending it. Creates the file
 * with a title and an introduction when it is missing.
 */
export async function writeSection(file: string, section: string): Promise<void> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    text = `${TITLE}\n\n${INTRO}\n`
  }

  const heading = (section.split('\n', 1)[0] ?? '').trim()
  const lines = text.split('\n')
  const start = lines.findIndex((line) => line.trim() === heading)
  const body = section.trimEnd().split('\n')
  if (start === -1) {
    while (lines.length > 0 && lines.at(-1) === '') lines.pop()
    lines.push('', ...body, '')
  } else {
    let end = lines.findIndex((line, index) => index > start && /^## /.test(line))
    if (end === -1) end = lines.length
    const after = lines.slice(end)
    lines.splice(start, end - start, ...body, ...(after.length > 0 ? [''] : []))
    if (after.length === 0) lines.push('')
  }

  await writeFile(file, lines.join('\n'))
}
