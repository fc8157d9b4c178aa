// Spend on Redis: one hash per UTC day (`<prefix>spend:<YYYY-MM-DD>`), four integer counters per key
// and model in it, added with HINCRBY in one MULTI so a report never sees half a call. The hash
// expires `retention_days` after its day, so old spend goes without a sweep.
import type { Redis } from 'ioredis'
import {
  dayExpiresAt,
  type SpendEntry,
  type SpendFilter,
  type SpendRow,
  type SpendStore,
} from './spend-store.js'

// Field names: `<counter>|<JSON [keyId, model]>`. JSON, not a separator, because a model named
// `<provider>/<anything>` may hold any character.
const counters = {
  r: 'requests',
  p: 'promptTokens',
  c: 'completionTokens',
  n: 'costNanos',
} as const
type CounterCode = keyof typeof counters

export interface RedisSpendStoreOptions {
  client: Redis
  keyPrefix: string
  retentionDays: number
}

export class RedisSpendStore implements SpendStore {
  readonly #client: Redis
  readonly #keyPrefix: string
  readonly #retentionDays: number

  constructor(options: RedisSpendStoreOptions) {
    this.#client = options.client
    this.#keyPrefix = options.keyPrefix
    this.#retentionDays = options.retentionDays
  }

  dayKey(day: string): string {
    return `${this.#keyPrefix}spend:${day}`
  }

  get namesKey(): string {
    return `${this.#keyPrefix}spend:key-names`
  }

  async add(day: string, entry: SpendEntry): Promise<void> {
    const key = this.dayKey(day)
    const who = JSON.stringify([entry.keyId, entry.model])
    const results = await this.#client
      .multi()
      .hincrby(key, `r|${who}`, entry.requests)
      .hincrby(key, `p|${who}`, entry.promptTokens)
      .hincrby(key, `c|${who}`, entry.completionTokens)
      .hincrby(key, `n|${who}`, entry.costNanos)
      .pexpireat(key, dayExpiresAt(day, this.#retentionDays))
      .hset(this.namesKey, entry.keyId, entry.keyName)
      .exec()
    const failed = results?.find(([err]) => err)
    if (!results || failed) throw failed?.[0] ?? new Error('spend write was discarded')
  }

  async query(filter: SpendFilter): Promise<SpendRow[]> {
    const pipeline = this.#client.pipeline()
    for (const day of filter.days) pipeline.hgetall(this.dayKey(day))
    const results = (await pipeline.exec()) ?? []
    const rows: SpendRow[] = []
    results.forEach(([err, hash], index) => {
      if (err) throw err
      const day = filter.days[index]!
      // null: a key and model the filter leaves out, parsed once rather than once per counter.
      const byWho = new Map<string, SpendRow | null>()
      for (const [field, value] of Object.entries(hash as Record<string, string>)) {
        const code = field.slice(0, 1) as CounterCode
        if (!(code in counters) || field[1] !== '|') continue
        const who = field.slice(2)
        let row = byWho.get(who)
        if (row === undefined) {
          const [keyId, model] = JSON.parse(who) as [string, string]
          const wanted =
            (filter.keyId === undefined || keyId === filter.keyId) &&
            (filter.model === undefined || model === filter.model)
          row = wanted
            ? { day, keyId, model, requests: 0, promptTokens: 0, completionTokens: 0, costNanos: 0 }
            : null
          byWho.set(who, row)
        }
        if (row) row[counters[code]] = Number(value)
      }
      for (const row of byWho.values()) if (row) rows.push(row)
    })
    return rows
  }

  async keyNames(keyIds: readonly string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>()
    if (keyIds.length === 0) return names
    const values = await this.#client.hmget(this.namesKey, ...keyIds)
    keyIds.forEach((id, index) => {
      const name = values[index]
      if (name !== null && name !== undefined) names.set(id, name)
    })
    return names
  }
}
