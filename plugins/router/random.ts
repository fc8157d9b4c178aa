// Randomness behind the strategies and the backoff jitter. Every caller takes an `Rng` so tests pass
// a seeded one and assert distributions without flakiness; production passes Math.random.

/** Returns a float in [0, 1), like Math.random. */
export type Rng = () => number

/**
 * mulberry32: a tiny, fast 32-bit generator. Good enough to spread load and to make distribution
 * tests reproducible; not for anything secret.
 */
export function createSeededRng(seed: number): Rng {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A shuffled copy (Fisher-Yates), so a stable sort afterwards breaks ties at random. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice()
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    const swap = out[i]!
    out[i] = out[j]!
    out[j] = swap
  }
  return out
}
