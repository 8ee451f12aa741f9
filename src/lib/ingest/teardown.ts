/**
 * The cleanups of a server that starts in steps: each step that acquires something (a catalog
 * connection, a listening socket, a timer) pushes the cleanup that releases it, and whichever exit
 * comes first (a later step failing at startup, or close()) runs them all, newest first, once.
 */
export class TeardownStack {
  private readonly cleanups: Array<{name: string; cleanup: () => unknown}> = []
  private running: Promise<void> | undefined

  /** Registers a cleanup; it runs before every cleanup pushed earlier. */
  push(name: string, cleanup: () => unknown): void {
    if (this.running) throw new Error(`Cannot register "${name}": the teardown has already run`)
    this.cleanups.push({name, cleanup})
  }

  /**
   * Runs every cleanup, newest first, each even when one before it failed; rejects afterwards
   * with the failure as thrown (its class tells what it was), or an AggregateError naming the
   * cleanups when several failed. Runs once: later calls get the same promise.
   */
  run(): Promise<void> {
    this.running ??= this.unwind()
    return this.running
  }

  private async unwind(): Promise<void> {
    const failures: Array<{name: string; error: unknown}> = []
    for (const {name, cleanup} of this.cleanups.toReversed()) {
      try {
        await cleanup()
      } catch (error) {
        failures.push({name, error})
      }
    }

    if (failures.length === 1) throw failures[0]?.error
    if (failures.length > 1) {
      const summary = failures.map(({name, error}) => `${name}: ${(error as Error | undefined)?.message ?? String(error)}`).join('; ')
      throw new AggregateError(failures.map(({error}) => error), `${failures.length} cleanups failed: ${summary}`)
    }
  }
}
