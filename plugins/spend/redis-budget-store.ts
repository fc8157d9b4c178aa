// Budgets on Redis, shared by every replica. Per scope: a hash with `spent`, `reserved` and one
// `hold:<id>` field per reservation in flight, and a sorted set of hold ids by expiry. Reserving and
// settling are Lua scripts, so checking the budget and taking the hold can't interleave with another
// replica doing the same. Amounts are integer nano-USD (HINCRBY: exact, no float drift).
//
// The store throws when Redis fails; the caller decides what store.on_error means for a budget.
import type { Redis, Result } from 'ioredis'
import type { BudgetHoldSpec, BudgetState, BudgetStore, ReserveOutcome } from './budget-store.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: totals hash, holds zset. ARGV: now, amount, limit, hold id, hold expiry, key expiry or ''. */
    anygateBudgetReserve(
      totalsKey: string,
      holdsKey: string,
      now: number,
      amount: number,
      limit: number,
      holdId: string,
      holdExpiresAt: number,
      keyExpiresAt: number | '',
    ): Result<[number, number, number], Context>
    /** KEYS: totals hash, holds zset. ARGV: hold id or '', cost, key expiry or ''. */
    anygateBudgetSettle(
      totalsKey: string,
      holdsKey: string,
      holdId: string,
      cost: number,
      keyExpiresAt: number | '',
    ): Result<number, Context>
    /** KEYS: totals hash, holds zset. ARGV: now. */
    anygateBudgetState(totalsKey: string, holdsKey: string, now: number): Result<[number, number], Context>
  }
}

// Drops the holds that expired by ARGV[1] from the reserved total. Shared by reserve and state.
// HINCRBY takes the stored decimal string as is ("-" .. held): a Lua number would be formatted as
// 1e+15 past 14 digits, which Redis refuses as an integer.
const releaseExpired = `
local function releaseExpired(now)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for _, id in ipairs(expired) do
    local held = redis.call('HGET', KEYS[1], 'hold:' .. id)
    if held then
      if tonumber(held) > 0 then redis.call('HINCRBY', KEYS[1], 'reserved', '-' .. held) end
      redis.call('HDEL', KEYS[1], 'hold:' .. id)
    end
  end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
end
local function expireAt(at)
  if at ~= '' then
    redis.call('PEXPIREAT', KEYS[1], at)
    redis.call('PEXPIREAT', KEYS[2], at)
  end
end
`

// The admission rule of budget-store.ts fitsBudget, in the same script that takes the hold.
const reserveScript = `${releaseExpired}
releaseExpired(ARGV[1])
local amount = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if spent >= limit or spent + reserved + amount > limit then
  return {0, spent, reserved}
end
if amount > 0 then
  redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[2])
  redis.call('HSET', KEYS[1], 'hold:' .. ARGV[4], ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
end
expireAt(ARGV[6])
return {1, spent, reserved + amount}
`

const settleScript = `${releaseExpired}
if ARGV[1] ~= '' then
  local held = redis.call('HGET', KEYS[1], 'hold:' .. ARGV[1])
  if held then
    if tonumber(held) > 0 then redis.call('HINCRBY', KEYS[1], 'reserved', '-' .. held) end
    redis.call('HDEL', KEYS[1], 'hold:' .. ARGV[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
end
local spent = redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
expireAt(ARGV[3])
return spent
`

const stateScript = `
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local reserved = 0
local live = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
for _, id in ipairs(live) do
  reserved = reserved + tonumber(redis.call('HGET', KEYS[1], 'hold:' .. id) or '0')
end
return {spent, reserved}
`

export interface RedisBudgetStoreOptions {
  client: Redis
  keyPrefix: string
}

export class RedisBudgetStore implements BudgetStore {
  readonly #client: Redis
  readonly #keyPrefix: string

  constructor(options: RedisBudgetStoreOptions) {
    this.#client = options.client
    this.#keyPrefix = options.keyPrefix
    // Sent as EVALSHA, falling back to EVAL once per connection when Redis does not know the script.
    this.#client.defineCommand('anygateBudgetReserve', { numberOfKeys: 2, lua: reserveScript })
    this.#client.defineCommand('anygateBudgetSettle', { numberOfKeys: 2, lua: settleScript })
    this.#client.defineCommand('anygateBudgetState', { numberOfKeys: 2, lua: stateScript })
  }

  totalsKey(scope: string): string {
    return `${this.#keyPrefix}budget:${scope}`
  }

  async reserve(
    scope: string,
    hold: BudgetHoldSpec,
    limitNanos: number,
    now: number,
    keyExpiresAt: number | null,
  ): Promise<ReserveOutcome> {
    const key = this.totalsKey(scope)
    const [admitted, spentNanos, reservedNanos] = await this.#client.anygateBudgetReserve(
      key,
      `${key}:holds`,
      now,
      hold.amountNanos,
      limitNanos,
      hold.id,
      hold.expiresAt,
      keyExpiresAt ?? '',
    )
    return { admitted: admitted === 1, spentNanos, reservedNanos }
  }

  async settle(
    scope: string,
    holdId: string | null,
    costNanos: number,
    keyExpiresAt: number | null,
  ): Promise<number> {
    const key = this.totalsKey(scope)
    return this.#client.anygateBudgetSettle(key, `${key}:holds`, holdId ?? '', costNanos, keyExpiresAt ?? '')
  }

  async state(scope: string, now: number): Promise<BudgetState> {
    const key = this.totalsKey(scope)
    const [spentNanos, reservedNanos] = await this.#client.anygateBudgetState(key, `${key}:holds`, now)
    return { spentNanos, reservedNanos }
  }

  async claimAlert(scope: string, threshold: number, expiresAt: number | null): Promise<boolean> {
    const key = `${this.#keyPrefix}budget-alert:${scope}:${threshold}`
    const result =
      expiresAt === null
        ? await this.#client.set(key, '1', 'NX')
        : await this.#client.set(key, '1', 'PXAT', expiresAt, 'NX')
    return result === 'OK'
  }
}
