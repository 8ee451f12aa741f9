/** Bounded concurrency for work over many items (uploads, invalidations), shared by publish, cdn and ingest. */

/** Runs `work` on every item with at most `limit` at once, in order of start. */
export async function mapConcurrent<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  let failed: unknown
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const index = next
      next += 1
      try {
        results[index] = await work(items[index] as T, index)
      } catch (error) {
        failed ??= error
      }
    }
  }

  await Promise.all(Array.from({length: Math.max(1, Math.min(limit, items.length))}, worker))
  if (failed !== undefined) throw failed
  return results
}
