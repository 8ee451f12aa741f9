/**
 * Waits for a condition to become true, checking it every few milliseconds: synchronisation on an
 * observable state, never on elapsed time. Fails with the description after `timeoutMs`.
 */
export async function waitFor(condition: () => Promise<boolean> | boolean, options: {timeoutMs?: number; what?: string} = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    try {
      if (await condition()) return
    } catch {
      // Not there yet (a file that does not exist yet, a server still starting).
    }

    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${options.what ?? 'a condition'}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
