/** A wall clock the test sets and moves by hand, for code that takes an injected `now`. */
export function manualClock(start: number) {
  let at = start
  return {
    now: () => at,
    set(ms: number) {
      at = ms
    },
    advance(ms: number) {
      at += ms
    },
  }
}
export type ManualClock = ReturnType<typeof manualClock>
