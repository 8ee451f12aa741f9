/**
 * Progress for long steps: a listr2 bar on a terminal, a plain line every few seconds otherwise
 * (CI logs), nothing at all on stdout under --json (a terminal still sees the bar on stderr).
 */
import {Listr, ProcessOutput} from 'listr2'

export type ProgressMode = 'tty' | 'tty-stderr' | 'plain' | 'silent'

export interface StepUpdate {
  /** 0..1 when known. */
  fraction?: number
  /** Times realtime. */
  speed?: number
  /** Anything else worth showing, e.g. "12/40 files, 3.1 MB, 8.2 MB/s". */
  detail?: string
}

export function chooseProgressMode(context: {json: boolean; stdoutIsTTY: boolean; stderrIsTTY: boolean; ci: boolean}): ProgressMode {
  if (context.json) return context.stderrIsTTY && !context.ci ? 'tty-stderr' : 'silent'
  if (context.stdoutIsTTY && !context.ci) return 'tty'
  return 'plain'
}

const BAR_WIDTH = 24

export function formatStepUpdate(update: StepUpdate): string {
  const parts: string[] = []
  if (update.fraction !== undefined) {
    const filled = Math.round(update.fraction * BAR_WIDTH)
    parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${Math.floor(update.fraction * 100)}%`)
  }

  if (update.speed !== undefined) parts.push(`${update.speed.toFixed(2)}x realtime`)
  if (update.detail) parts.push(update.detail)
  return parts.join('  ')
}

/** Seconds between plain progress lines. */
const PLAIN_INTERVAL_MS = 5000

export type StepWork<T> = (update: (progress: StepUpdate) => void) => Promise<T>

export async function runStep<T>(mode: ProgressMode, title: string, work: StepWork<T>, log: (line: string) => void): Promise<T> {
  if (mode === 'silent') return work(() => undefined)
  if (mode === 'plain') return runPlainStep(title, work, log)

  let result: T | undefined
  const listr = new Listr(
    [
      {
        title,
        task: async (_context, task) => {
          result = await work(renderTo(task))
        },
      },
    ],
    listrOptions(mode, true),
  )
  await listr.run()
  return result as T
}

/** A listr2 task's progress line, redrawn at most every 100 ms (and always at 100 %). */
function renderTo(task: {output: string}): (progress: StepUpdate) => void {
  let lastRender = 0
  return (progress) => {
    const now = Date.now()
    if (now - lastRender < 100 && progress.fraction !== 1) return
    lastRender = now
    task.output = formatStepUpdate(progress)
  }
}

function listrOptions(mode: ProgressMode, exitOnError: boolean) {
  return {
    concurrent: false,
    exitOnError,
    registerSignalListeners: false,
    rendererOptions: {
      collapseErrors: false,
      ...(mode === 'tty-stderr' ? {processOutput: new ProcessOutput(process.stderr, process.stderr)} : {}),
    },
  }
}

async function runPlainStep<T>(title: string, work: StepWork<T>, log: (line: string) => void): Promise<T> {
  const started = Date.now()
  let lastLine = started
  log(`${title}...`)
  const result = await work((progress) => {
    const now = Date.now()
    if (now - lastLine < PLAIN_INTERVAL_MS) return
    lastLine = now
    log(`${title}: ${formatStepUpdate(progress)}`)
  })
  log(`${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return result
}

export interface ListedTask<T> {
  title: string
  /** `update` shows progress; the returned `outcome` replaces the title when the task ends. */
  work: (update: (progress: StepUpdate) => void) => Promise<{value: T; outcome: string; failed?: boolean}>
}

/**
 * Several long steps as one list (one listr2 view on a terminal, plain lines otherwise): each
 * runs in turn; one that ends `failed` is shown failed and the list goes on. Work functions
 * report their outcome and do not throw.
 */
export async function runTaskList<T>(mode: ProgressMode, tasks: Array<ListedTask<T>>, log: (line: string) => void): Promise<T[]> {
  const values: T[] = []
  if (mode === 'silent' || mode === 'plain') {
    for (const task of tasks) {
      const {value, outcome} = await (mode === 'silent'
        ? task.work(() => undefined)
        : runPlainStep(task.title, task.work, log))
      if (mode === 'plain') log(`${task.title}: ${outcome}`)
      values.push(value)
    }

    return values
  }

  const listr = new Listr(
    tasks.map((task) => ({
      title: task.title,
      task: async (_context: unknown, listed: {output: string; title: string}) => {
        const {value, outcome, failed} = await task.work(renderTo(listed))
        values.push(value)
        listed.title = `${task.title}: ${outcome}`
        if (failed) throw new Error(outcome)
      },
    })),
    listrOptions(mode, false),
  )
  await listr.run()
  return values
}
