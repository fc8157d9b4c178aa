// @fastify/rate-limit ships no types for its memory store, which library-limits.ts asks directly.
declare module '@fastify/rate-limit/store/LocalStore.js' {
  export default class LocalStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, cache?: number)
    /** Counts one more for `key` and calls back at once with the count and the window's time left. */
    incr(
      key: string,
      callback: (error: Error | null, result: { current: number; ttl: number }) => void,
      timeWindow: number,
      max: number,
    ): void
  }
}
