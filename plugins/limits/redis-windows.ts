// The limit windows in Redis, shared by every replica: one script reads every window a request
// takes from and counts it in all of them or none, so N replicas admit exactly what one would.
// The replicas' clocks pick the minute (not Redis TIME) so tests can drive them; clocks a few ms
// apart shift a window's edge by as much.
import type { Redis, Result } from 'ioredis'
import { type OnStoreError, RedisGuard, type StoreLogger } from '../store/redis-guard.js'
import { windowMs } from './sliding-window.js'
import type { LimitWindows, TakeResult, WindowCharge } from './windows.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /**
     * KEYS: per charge, this minute's counter then the previous minute's. ARGV: ms into the minute,
     * then per charge its limit and amount. Returns the refused charge (1-based, 0: admitted), then
     * per charge its current and previous counts.
     */
    anygateLimitTake(...args: (string | number)[]): Result<number[], Context>
    /** KEYS: one minute's counter. ARGV: the correction. */
    anygateLimitAdjust(key: string, delta: number): Result<number, Context>
  }
}

// Same comparison as fitsWindow (sliding-window.ts), in the same order of operations.
const takeScript = `
local into = tonumber(ARGV[1])
local n = #KEYS / 2
local counts = {}
local refused = 0
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  local previous = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
  counts[2 * i - 1] = current
  counts[2 * i] = previous
  if refused == 0 and previous * (1 - into / ${windowMs}) + current + tonumber(ARGV[2 * i + 1]) > tonumber(ARGV[2 * i]) then
    refused = i
  end
end
if refused == 0 then
  for i = 1, n do
    counts[2 * i - 1] = redis.call('INCRBY', KEYS[2 * i - 1], ARGV[2 * i + 1])
    redis.call('PEXPIRE', KEYS[2 * i - 1], ${windowMs * 2})
  end
end
local out = { refused }
for i = 1, 2 * n do out[i + 1] = counts[i] end
return out
`

// Only a counter still alive is corrected: one that expired has slid out of every window.
const adjustScript = `
local value = redis.call('GET', KEYS[1])
if not value then return -1 end
local corrected = math.max(0, tonumber(value) + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], corrected, 'KEEPTTL')
return corrected
`

export interface RedisLimitWindowsOptions {
  client: Redis
  keyPrefix: string
  onError: OnStoreError
  now?: () => number
  log?: StoreLogger
  /** Names the store in warnings. */
  store: string
  /** The app's guard (app.stateStore.guard), which also reports fallbacks to metrics. */
  guard?: RedisGuard
}

export class RedisLimitWindows implements LimitWindows {
  readonly #client: Redis
  readonly #prefix: string
  readonly #now: () => number
  readonly #guard: RedisGuard

  constructor(options: RedisLimitWindowsOptions) {
    this.#client = options.client
    this.#prefix = `${options.keyPrefix}limits:`
    this.#now = options.now ?? Date.now
    this.#guard =
      options.guard ?? new RedisGuard({ onError: options.onError, store: options.store, log: options.log })
    if (!this.#client.anygateLimitTake) {
      this.#client.defineCommand('anygateLimitTake', { lua: takeScript })
      this.#client.defineCommand('anygateLimitAdjust', { numberOfKeys: 1, lua: adjustScript })
    }
  }

  #key(key: string, minute: number): string {
    return `${this.#prefix}${key}:${minute}`
  }

  take(charges: readonly WindowCharge[]): Promise<TakeResult> {
    const at = this.#now()
    const minute = Math.floor(at / windowMs)
    const msIntoMinute = at - minute * windowMs
    const args: (string | number)[] = [charges.length * 2]
    for (const { key } of charges) args.push(this.#key(key, minute), this.#key(key, minute - 1))
    args.push(msIntoMinute)
    for (const { limit, amount } of charges) args.push(limit, amount)
    return this.#guard.run<TakeResult>(
      'take',
      async () => {
        const reply = await this.#client.anygateLimitTake(...args)
        const counts = charges.map((_, i) => ({ current: reply[2 * i + 1]!, previous: reply[2 * i + 2]! }))
        const refused = reply[0]! - 1
        return { admitted: refused === -1, minute, msIntoMinute, counts, refused, degraded: false }
      },
      () => ({
        admitted: this.#guard.onError === 'allow',
        minute,
        msIntoMinute,
        counts: [],
        refused: -1,
        degraded: true,
      }),
    )
  }

  async adjust(key: string, minute: number, delta: number): Promise<void> {
    if (delta === 0) return
    await this.#guard.run(
      'adjust',
      async () => {
        await this.#client.anygateLimitAdjust(this.#key(key, minute), delta)
      },
      () => undefined,
    )
  }
}
