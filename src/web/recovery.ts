/**
 * How many times in a row a player may try to recover from one kind of fatal error before it gives
 * up and says so. Progress (a fragment loaded) starts the count again. Pure, so it is unit-tested.
 */
export interface RecoveryBudget {
  /** True, and one try used, while tries are left. */
  tryAgain(): boolean
  /** Tries used since the last progress. */
  readonly used: number
  /** The player made progress: the count starts again. */
  reset(): void
}

export function createRecoveryBudget(limit: number): RecoveryBudget {
  let used = 0
  return {
    tryAgain() {
      if (used >= limit) return false
      used += 1
      return true
    },
    get used() {
      return used
    },
    reset() {
      used = 0
    },
  }
}
