// The per-minute windows of key and model limits: a sliding 60 s window approximated from two fixed
// minutes, as the router's target max_rpm does (plugins/router/target-rpm.ts): the previous minute's
// count weighted by how much of it the window still covers, plus this minute's. Two counters per
// limit instead of a timestamp per call, and no burst of twice the limit across a minute boundary
// as a fixed window allows. Amounts are 1 per request for rpm and token counts for tpm.

export const windowMs = 60_000

export interface WindowCounts {
  /** What the current fixed minute has counted. */
  current: number
  /** What the minute before it counted. */
  previous: number
}

/** The window's count `msIntoMinute` into the current minute. */
export function slidingCount(counts: WindowCounts, msIntoMinute: number): number {
  return counts.previous * (1 - msIntoMinute / windowMs) + counts.current
}

/** The same comparison the Redis script makes, so both stores decide alike. */
export function fitsWindow(
  counts: WindowCounts,
  limit: number,
  amount: number,
  msIntoMinute: number,
): boolean {
  return counts.previous * (1 - msIntoMinute / windowMs) + counts.current + amount <= limit
}

export function remainingIn(counts: WindowCounts, limit: number, msIntoMinute: number): number {
  return Math.max(0, Math.floor(limit - slidingCount(counts, msIntoMinute)))
}

/**
 * How long until `amount` more fits, assuming nothing else is counted meanwhile: within this minute
 * as the previous minute slides out, else in the next one as this minute's count slides out.
 * Infinity when `amount` exceeds the limit itself.
 */
export function msUntilFits(
  counts: WindowCounts,
  limit: number,
  amount: number,
  msIntoMinute: number,
): number {
  if (amount > limit) return Number.POSITIVE_INFINITY
  if (fitsWindow(counts, limit, amount, msIntoMinute)) return 0
  const spare = limit - amount - counts.current
  if (spare > 0 && counts.previous > 0) {
    // previous * (1 - t / windowMs) <= spare, for t ms into this minute
    return Math.ceil((windowMs * (counts.previous - spare)) / counts.previous - msIntoMinute)
  }
  // This minute's count alone leaves no room: it becomes the next minute's `previous`.
  const intoNext = counts.current > 0 ? (windowMs * (counts.current - (limit - amount))) / counts.current : 0
  return Math.ceil(windowMs - msIntoMinute + Math.max(0, intoNext))
}

/** How long until the window has counted nothing again: OpenAI's "reset" (back to the full limit). */
export function msUntilReset(counts: WindowCounts, msIntoMinute: number): number {
  if (counts.current > 0) return 2 * windowMs - msIntoMinute
  if (counts.previous > 0) return windowMs - msIntoMinute
  return 0
}
