// A target's `max_rpm`: how many calls the gateway starts against it per minute, so a provider
// account's own rate limit is respected before the upstream answers 429. Counted as a sliding window
// approximated from two fixed minutes (the previous minute's count weighted by how much of it still
// overlaps the window, plus this minute's), the scheme Cloudflare and others use: two counters per
// target instead of a timestamp per call, and exact at the minute boundary instead of letting a
// fixed window admit twice the limit across it.
import type { Redis, Result } from 'ioredis'
import { type OnStoreError, RedisGuard, type StoreLogger } from '../store/redis-guard.js'
import type { Clock } from './types.js'

const windowMs = 60_000

export interface RpmAdmission {
  admitted: boolean
  /** When refused: how long until a slot frees up, for Retry-After. */
  retryAfterMs: number
}

export interface TargetRpmWindow {
  /** Counts a call against the target when it fits in its limit; refuses without counting otherwise. */
  tryTake(targetId: string, limit: number): Promise<RpmAdmission>
}

/**
 * The sliding count: `previous` weighted by the share of the last minute the window still covers.
 * When full, the wait is until enough of `previous` has slid out to leave room for one more call.
 */
export function slidingAdmission(previous: number, current: number, limit: number, msIntoWindow: number) {
  const overlap = 1 - msIntoWindow / windowMs
  const count = previous * overlap + current
  if (count + 1 <= limit) return { admitted: true, retryAfterMs: 0 }
  // Room appears once previous * overlap' + current + 1 <= limit; never within this minute when
  // `current` alone fills it.
  const spare = limit - 1 - current
  const waitMs =
    spare < 0 || previous === 0
      ? windowMs - msIntoWindow
      : Math.max(0, (1 - spare / previous) * windowMs - msIntoWindow)
  return { admitted: false, retryAfterMs: Math.max(1, Math.ceil(waitMs)) }
}

export class MemoryTargetRpmWindow implements TargetRpmWindow {
  readonly #counts = new Map<string, { minute: number; current: number; previous: number }>()

  constructor(private readonly now: Clock = Date.now) {}

  async tryTake(targetId: string, limit: number): Promise<RpmAdmission> {
    const at = this.now()
    const minute = Math.floor(at / windowMs)
    let entry = this.#counts.get(targetId)
    if (!entry) {
      entry = { minute, current: 0, previous: 0 }
      this.#counts.set(targetId, entry)
    } else if (entry.minute !== minute) {
      entry.previous = entry.minute === minute - 1 ? entry.current : 0
      entry.current = 0
      entry.minute = minute
    }
    const admission = slidingAdmission(entry.previous, entry.current, limit, at - minute * windowMs)
    if (admission.admitted) entry.current++
    return admission
  }
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: this minute's and the previous minute's counter. ARGV: limit, ms into the minute. */
    anygateTargetRpm(
      currentKey: string,
      previousKey: string,
      limit: number,
      msIntoWindow: number,
    ): Result<[number, number], Context>
  }
}

// The same arithmetic as slidingAdmission, in one script so replicas can't both take the last slot.
const takeScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
local limit = tonumber(ARGV[1])
local into = tonumber(ARGV[2])
local count = previous * (1 - into / ${windowMs}) + current
if count + 1 <= limit then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ${windowMs * 2})
  return {1, current + 1}
end
return {0, current}
`

export interface RedisTargetRpmWindowOptions {
  client: Redis
  keyPrefix: string
  onError: OnStoreError
  now?: Clock
  log?: StoreLogger
}

/** Shared by every replica on the same Redis, so `max_rpm` holds for the deployment, not per pod. */
export class RedisTargetRpmWindow implements TargetRpmWindow {
  readonly #client: Redis
  readonly #keyPrefix: string
  readonly #now: Clock
  readonly #guard: RedisGuard

  constructor(options: RedisTargetRpmWindowOptions) {
    this.#client = options.client
    this.#keyPrefix = options.keyPrefix
    this.#now = options.now ?? Date.now
    this.#guard = new RedisGuard({ onError: options.onError, store: 'target-rpm', log: options.log })
    if (!this.#client.anygateTargetRpm) {
      this.#client.defineCommand('anygateTargetRpm', { numberOfKeys: 2, lua: takeScript })
    }
  }

  async tryTake(targetId: string, limit: number): Promise<RpmAdmission> {
    const at = this.#now()
    const minute = Math.floor(at / windowMs)
    const into = at - minute * windowMs
    const key = (m: number) => `${this.#keyPrefix}target-rpm:${targetId}:${m}`
    return this.#guard.run(
      'target-rpm',
      async () => {
        const [admitted, current] = await this.#client.anygateTargetRpm(
          key(minute),
          key(minute - 1),
          limit,
          into,
        )
        if (admitted === 1) return { admitted: true, retryAfterMs: 0 }
        // Refused: the wait is computed here from the counts, the same way memory does it.
        const previous = Number((await this.#client.get(key(minute - 1))) ?? 0)
        return slidingAdmission(previous, current, limit, into)
      },
      // Without Redis, allow keeps serving (the upstream's own 429s still trip retries); deny refuses.
      () => ({ admitted: this.#guard.onError === 'allow', retryAfterMs: 1000 }),
    )
  }
}
