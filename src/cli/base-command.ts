/**
 * What every livectl command shares: --json and --data-dir, Ctrl-C as cancellation, progress
 * rendering, and the one place where errors become a message and an exit code.
 */
import path from 'node:path'

import {Command, Errors, Flags, Interfaces} from '@oclif/core'

import {closeSharedCatalogs} from '../lib/catalog/shared.js'
import {ExitCode, formatErrorReport, toErrorReport, type ErrorReport} from '../lib/errors.js'
import {classifySystemError, isSystemError} from '../lib/system-errors.js'
import {chooseProgressMode, runStep, type StepWork} from './progress.js'

const DEFAULT_DATA_DIR = './livectl-data'

export abstract class BaseCommand extends Command {
  static override baseFlags = {
    'data-dir': Flags.string({
      description: 'Directory for all state: catalog, media and work files.',
      env: 'LIVECTL_DATA_DIR',
      default: DEFAULT_DATA_DIR,
      helpGroup: 'GLOBAL',
    }),
  }

  static override enableJsonFlag = true

  protected readonly abortController = new AbortController()
  private signalCount = 0

  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.signalCount += 1
    if (this.signalCount > 1) {
      process.stderr.write(`\nReceived ${signal} again: exiting now.\n`)
      process.exit(ExitCode.cancelled)
    }

    process.stderr.write(`\nReceived ${signal}: stopping cleanly (press Ctrl-C again to force).\n`)
    this.abortController.abort(new Error(`Received ${signal}`))
  }

  protected get signal(): AbortSignal {
    return this.abortController.signal
  }

  public override async init(): Promise<void> {
    await super.init()
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
  }

  protected override async finally(error: Error | undefined): Promise<unknown> {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    // The catalog connection the command's jobs shared (catalog/shared.ts) ends with the command.
    await closeSharedCatalogs()
    return super.finally(error)
  }

  protected dataDir(flags: {'data-dir': string}): string {
    return path.resolve(flags['data-dir'])
  }

  /** Runs a long step with progress that suits where output goes (terminal, CI log, --json). */
  protected step<T>(title: string, work: StepWork<T>): Promise<T> {
    const mode = chooseProgressMode({
      json: this.jsonEnabled(),
      stdoutIsTTY: Boolean(process.stdout.isTTY),
      stderrIsTTY: Boolean(process.stderr.isTTY),
      ci: Boolean(process.env.CI) && process.env.CI !== 'false',
    })
    return runStep(mode, title, work, (line) => this.logToStderr(line))
  }

  /** Human output: stdout normally, nothing under --json (the result is printed instead). */
  protected say(line = ''): void {
    if (!this.jsonEnabled()) this.log(line)
  }

  protected override async catch(error: Error & {oclif?: {exit?: number}}): Promise<never> {
    if (error instanceof Errors.ExitError) throw error
    const report: ErrorReport =
      error instanceof Errors.CLIError || error.oclif
        ? {kind: 'user', message: error.message, exitCode: ExitCode.user, hint: `See \`livectl ${this.id ?? ''} --help\`.`}
        : toErrorReport(isSystemError(error) ? classifySystemError(error) : error)
    process.stderr.write(`${formatErrorReport(report)}\n`)
    if (this.jsonEnabled()) this.logJson({error: report})
    this.exit(report.exitCode)
  }
}

export type InferredFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
