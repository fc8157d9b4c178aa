// Keys in Redis, shared by every replica. Layout under the store's key prefix:
//   keys:by-hash:<sha256>  the record as JSON: auth's lookup is one GET
//   keys:by-id:<id>        the record's current hash, for the admin API
//   keys:ids               sorted set of ids by creation time, for listing
// Every write is one Lua script that first compares the record with the JSON it was read as, so
// two admins editing one key can't lose an update, and a rotation swaps the hash index and the
// record at once: the old secret fails and the new one works from the same instant, on every replica.
import type { Redis, Result } from 'ioredis'
import { type OnStoreError, RedisGuard, type StoreLogger } from '../store/redis-guard.js'
import { keyConflict, storeUnavailable } from './errors.js'
import type { KeyPage, KeyStore, StoredKey } from './types.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: by-hash, by-id, ids; ARGV: record JSON, hash, score, id. 0 when the id or hash exists. */
    anygateKeyCreate(
      byHash: string,
      byId: string,
      ids: string,
      record: string,
      hash: string,
      score: number,
      id: string,
    ): Result<number, Context>
    /** KEYS: old by-hash, new by-hash, by-id; ARGV: expected JSON, new JSON, new hash. 1 written, 0 changed meanwhile, -1 hash taken. */
    anygateKeyReplace(
      oldByHash: string,
      newByHash: string,
      byId: string,
      expected: string,
      record: string,
      hash: string,
    ): Result<number, Context>
    /** KEYS: by-hash, by-id, ids; ARGV: expected JSON, id. 1 deleted, 0 changed meanwhile. */
    anygateKeyDelete(
      byHash: string,
      byId: string,
      ids: string,
      expected: string,
      id: string,
    ): Result<number, Context>
  }
}

const createScript = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
`

const replaceScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if KEYS[1] ~= KEYS[2] then
  if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[3], ARGV[3])
end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`

const deleteScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
`

/** Compare-and-set rounds before a write gives up with a 409; only concurrent admin edits race. */
const maxAttempts = 10

interface ReadKey {
  key: StoredKey
  /** The JSON exactly as stored: what the scripts compare against. */
  raw: string
}

export interface RedisKeyStoreOptions {
  /** Shared with the app's other stores; this store never closes it. */
  client: Redis
  keyPrefix: string
  onError: OnStoreError
  log?: StoreLogger
  /** Overrides the guard built from onError and log (tests: pause and warning intervals). */
  guard?: RedisGuard
}

export class RedisKeyStore implements KeyStore {
  readonly #client: Redis
  readonly #prefix: string
  readonly #guard: RedisGuard

  constructor(options: RedisKeyStoreOptions) {
    this.#client = options.client
    this.#prefix = `${options.keyPrefix}keys:`
    this.#guard =
      options.guard ?? new RedisGuard({ onError: options.onError, store: 'keys', log: options.log })
    this.#client.defineCommand('anygateKeyCreate', { numberOfKeys: 3, lua: createScript })
    this.#client.defineCommand('anygateKeyReplace', { numberOfKeys: 3, lua: replaceScript })
    this.#client.defineCommand('anygateKeyDelete', { numberOfKeys: 3, lua: deleteScript })
  }

  #byHash = (hash: string) => `${this.#prefix}by-hash:${hash}`
  #byId = (id: string) => `${this.#prefix}by-id:${id}`
  get #ids() {
    return `${this.#prefix}ids`
  }

  /**
   * Redis failing fails the call with a 503 whatever on_error says: an unverifiable key can't be let
   * in, and an admin change that may not have been written can't be reported as done. The directory
   * decides what a failed lookup means for authentication (plugins/keys/directory.ts).
   */
  #run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return this.#guard.run(operation, call, () => {
      throw storeUnavailable()
    })
  }

  findByHash(hash: string): Promise<StoredKey | undefined> {
    return this.#run('findByHash', async () => {
      const raw = await this.#client.get(this.#byHash(hash))
      return raw === null ? undefined : (JSON.parse(raw) as StoredKey)
    })
  }

  async get(id: string): Promise<StoredKey | undefined> {
    const read = await this.#run('get', () => this.#read(id))
    if (read === 'busy') throw busy(id)
    return read?.key
  }

  /**
   * Two reads: a rotation landing between them leaves the old hash empty, so read again. 'busy' when
   * the key kept moving (never seen outside a storm of rotations).
   */
  async #read(id: string): Promise<ReadKey | undefined | 'busy'> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const hash = await this.#client.get(this.#byId(id))
      if (hash === null) return undefined
      const raw = await this.#client.get(this.#byHash(hash))
      if (raw !== null) return { key: JSON.parse(raw) as StoredKey, raw }
    }
    return 'busy'
  }

  list(limit: number): Promise<KeyPage> {
    return this.#run('list', async () => {
      const ids = await this.#client.zrange(this.#ids, 0, limit)
      const hasMore = ids.length > limit
      if (hasMore) ids.pop()
      if (ids.length === 0) return { keys: [], hasMore }
      const hashes = await this.#client.mget(ids.map(this.#byId))
      const present = hashes.filter((hash): hash is string => hash !== null)
      if (present.length === 0) return { keys: [], hasMore }
      const records = await this.#client.mget(present.map(this.#byHash))
      const keys = records
        .filter((raw): raw is string => raw !== null)
        .map((raw) => JSON.parse(raw) as StoredKey)
      return { keys, hasMore }
    })
  }

  // Conflicts are returned out of #run and thrown after it: the guard takes anything thrown inside
  // for a Redis failure.
  async create(key: StoredKey): Promise<void> {
    const created = await this.#run('create', () =>
      this.#client.anygateKeyCreate(
        this.#byHash(key.hash),
        this.#byId(key.id),
        this.#ids,
        JSON.stringify(key),
        key.hash,
        Date.parse(key.created_at),
        key.id,
      ),
    )
    if (created !== 1) throw keyConflict('That key already exists.')
  }

  async update(id: string, change: (current: StoredKey) => StoredKey): Promise<StoredKey | undefined> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.#run('update', () => this.#read(id))
      if (current === 'busy') throw busy(id)
      if (!current) return undefined
      const next = change(current.key)
      const written = await this.#run('update', () =>
        this.#client.anygateKeyReplace(
          this.#byHash(current.key.hash),
          this.#byHash(next.hash),
          this.#byId(id),
          current.raw,
          JSON.stringify(next),
          next.hash,
        ),
      )
      if (written === 1) return next
      if (written === -1) throw keyConflict('The new secret collides with another key.')
    }
    throw busy(id)
  }

  async delete(id: string): Promise<boolean> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.#run('delete', () => this.#read(id))
      if (current === 'busy') throw busy(id)
      if (!current) return false
      const deleted = await this.#run('delete', () =>
        this.#client.anygateKeyDelete(
          this.#byHash(current.key.hash),
          this.#byId(id),
          this.#ids,
          current.raw,
          id,
        ),
      )
      if (deleted === 1) return true
    }
    throw busy(id)
  }
}

const busy = (id: string) => keyConflict(`The key "${id}" was changed by other requests at the same time.`)
