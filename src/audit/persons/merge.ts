/**
 * When the trace's index merges its pending list (migrations/0026): the keys of new traces go to the
 * GIN index's pending list, a sequential append; merging them into the index costs more, so the
 * audit log's background work does it, not the append that every read waits for. After
 * MERGE_PERSONS persons traced by the process (about 20 bytes each in the list: a lookup scans a
 * few MB at most) or MERGE_EVERY_MS after the first of them, whichever comes first.
 */
export const MERGE_PERSONS = 250_000
export const MERGE_EVERY_MS = 30_000

export interface TraceMerge {
  /** `persons` were just traced (queued for the log) */
  traced (persons: number): void
  /** merges the pending list if it is due; whether it did */
  mergeIfDue (): Promise<boolean>
}

export function createTraceMerge (merge: () => Promise<unknown>, now: () => number = Date.now): TraceMerge {
  let persons = 0
  let since = 0 // when the first person since the last merge was traced
  return {
    traced (n) {
      if (n === 0) return
      if (persons === 0) since = now()
      persons += n
    },
    async mergeIfDue () {
      if (persons === 0 || (persons < MERGE_PERSONS && now() - since < MERGE_EVERY_MS)) return false
      persons = 0
      await merge()
      return true
    }
  }
}
