/**
 * Bounds what one caller's denials cost the log: at most `perWindow` events per caller and window;
 * the rest are counted and reported with that caller's next recorded denial.
 */
export function createDenialLimiter ({ perWindow = 60, windowMs = 60_000, maxCallers = 10_000 } = {}) {
  let windowStart = Date.now()
  let seen = new Map<string, { count: number, suppressed: number }>()
  let carried = new Map<string, number>()
  return {
    /** null: drop this one; otherwise how many were dropped before it */
    admit (caller: string, now = Date.now()): number | null {
      if (now - windowStart >= windowMs || seen.size >= maxCallers) {
        carried = new Map([...seen].filter(([, s]) => s.suppressed > 0).map(([k, s]) => [k, s.suppressed]))
        seen = new Map()
        windowStart = now
      }
      const entry = seen.get(caller) ?? { count: 0, suppressed: 0 }
      seen.set(caller, entry)
      if (entry.count >= perWindow) {
        entry.suppressed++
        return null
      }
      entry.count++
      const before = carried.get(caller) ?? 0
      carried.delete(caller)
      return before
    }
  }
}
