import { getHeapStatistics } from 'node:v8'

/**
 * Above this heap limit V8 lets the heap grow to three or four times its live size between full
 * collections (its growing factor rises with the limit), so a process that allocates fast — an
 * export of a million rows — climbs to several hundred MB resident while holding ~50 MB. With an
 * old-space limit of 256–512 MB the factor stays near 1.3–1.4 at the same speed
 * (docs/operations.md, Memory; bench/README.md, Exports).
 */
export const HEAP_LIMIT_ADVICE_MB = 1024

/** What the start-up log says of the heap limit: info when it is capped, a warning when it is not. */
export function heapLimitNotice (limitBytes = getHeapStatistics().heap_size_limit): { level: 'info' | 'warn', heapLimitMb: number, msg: string } {
  const heapLimitMb = Math.round(limitBytes / 1048576)
  if (heapLimitMb <= HEAP_LIMIT_ADVICE_MB) return { level: 'info', heapLimitMb, msg: 'V8 heap limit' }
  return {
    level: 'warn',
    heapLimitMb,
    msg: `V8 heap limit above ${HEAP_LIMIT_ADVICE_MB} MB: memory will climb far above the live heap under load; ` +
      'start with NODE_OPTIONS=--max-old-space-size=256 (npm start and the Docker image do; docs/operations.md, Memory)'
  }
}
