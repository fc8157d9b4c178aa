// Every virtual key the gateway knows, config-declared and stored, behind one object: `verify` for
// the auth hook (hot path) and the operations of the admin API. Testable without Fastify.
//
// Verified store lookups are remembered per replica for key_cache.ttl_ms, so authenticating a known
// key costs no Redis round trip. A change made through this directory (disable, delete, rotate,
// any edit) drops the key from this replica's memory at once; other replicas see it within ttl_ms.
// With store.on_error `allow`, a key verified within stale_if_error_ms keeps working while Redis is
// unreachable (nobody can change it in Redis meanwhile either); anything else then gets a 503,
// since an unverified key must never get in. With `deny`, Redis down always means 503.
import { LRUCache } from 'lru-cache'
import { GatewayError } from '../gateway-error.js'
import type { Principal } from '../principal.js'
import type { OnStoreError } from '../store/redis-guard.js'
import type { ConfigKey, KeyCacheSettings } from './config-schema.js'
import { configKeyReadOnly, disabledKey, expiredKey, keyNotFound, unknownKey } from './errors.js'
import { type KeyLimits, limitFieldNames } from './fields.js'
import { configKeyId, generateSecret, hashSecret, keyHint, newKeyId } from './secrets.js'
import type { KeyRecord, KeyStore, StoredKey } from './types.js'

export interface CreateKeyInput extends KeyLimits {
  name: string
  disabled?: boolean
}

/** A PATCH: absent fields stay, null clears a limit. */
export type KeyPatch = { name?: string; disabled?: boolean } & {
  [F in keyof KeyLimits]?: KeyLimits[F] | null
}

/** A key with its secret: returned by create and rotate, the only times the secret is seen. */
export interface IssuedKey {
  record: KeyRecord
  secret: string
}

export interface KeyDirectoryOptions {
  store: KeyStore
  configKeys?: ConfigKey[]
  cache?: KeyCacheSettings
  /** With `allow`, remembered keys outlive a Redis outage by cache.stale_if_error_ms. */
  onError?: OnStoreError
  /** Wall-clock milliseconds: expiry, timestamps and cache ages. Tests inject it. */
  now?: () => number
}

/** What auth needs to admit a key, built once per record. */
interface Admission {
  principal: Principal
  disabled: boolean
  expiresAtMs: number
  expiresAt: string | undefined
}

interface Remembered {
  admission: Admission
  verifiedAt: number
}

/** GET /admin/keys answers at most this many stored keys. */
export const listLimit = 1000

const defaultCache: KeyCacheSettings = { ttl_ms: 2000, stale_if_error_ms: 60_000, max_entries: 10_000 }

function toRecord(stored: StoredKey): KeyRecord {
  const { hash: _hash, ...record } = stored
  return record
}

/** Stored as one canonical instant, whatever offset it was sent with. */
const normalizedExpiry = (value: string) => new Date(value).toISOString()

function copyLimits(from: KeyLimits, to: KeyLimits): void {
  for (const field of limitFieldNames) {
    const value = from[field]
    if (value === undefined) continue
    ;(to as Record<string, unknown>)[field] =
      field === 'expires_at' ? normalizedExpiry(value as string) : value
  }
}

function toAdmission(record: KeyRecord): Admission {
  const principal: Principal = { kind: 'virtual', id: record.id, name: record.name }
  if (record.models) principal.models = Object.freeze([...record.models]) as string[]
  if (record.rpm !== undefined) principal.rpm = record.rpm
  if (record.tpm !== undefined) principal.tpm = record.tpm
  if (record.max_parallel !== undefined) principal.max_parallel = record.max_parallel
  if (record.budget) principal.budget = Object.freeze({ ...record.budget })
  if (record.metadata) principal.metadata = Object.freeze({ ...record.metadata })
  return {
    principal: Object.freeze(principal),
    disabled: record.disabled,
    expiresAtMs: record.expires_at ? Date.parse(record.expires_at) : Number.POSITIVE_INFINITY,
    expiresAt: record.expires_at,
  }
}

const isStoreDown = (err: unknown) => err instanceof GatewayError && err.code === 'store_unavailable'

export class KeyDirectory {
  readonly #store: KeyStore
  readonly #now: () => number
  readonly #ttlMs: number
  readonly #staleMs: number
  readonly #remembered: LRUCache<string, Remembered>
  readonly #configByHash = new Map<string, Admission>()
  readonly #configById = new Map<string, KeyRecord>()
  /** Bumped by every change: a lookup that started before one must not be remembered. */
  #generation = 0

  constructor(options: KeyDirectoryOptions) {
    this.#store = options.store
    this.#now = options.now ?? Date.now
    const cache = options.cache ?? defaultCache
    this.#ttlMs = cache.ttl_ms
    this.#staleMs = options.onError === 'allow' ? cache.stale_if_error_ms : 0
    this.#remembered = new LRUCache({ max: cache.max_entries })
    this.#addConfigKeys(options.configKeys ?? [])
  }

  /** Keys are declared in the config: /v1 then needs a key even without a master key. */
  get hasConfigKeys(): boolean {
    return this.#configById.size > 0
  }

  /** Config keys are checked at startup (config-checks.ts): names and secrets are unique. */
  #addConfigKeys(keys: ConfigKey[]): void {
    const startedAt = new Date(this.#now()).toISOString()
    for (const key of keys) {
      const record: KeyRecord = {
        id: configKeyId(key.name),
        name: key.name,
        source: 'config',
        disabled: key.disabled ?? false,
        key_hint: keyHint(key.key),
        created_at: startedAt,
        updated_at: startedAt,
      }
      copyLimits(key, record)
      this.#configById.set(record.id, record)
      this.#configByHash.set(hashSecret(key.key), toAdmission(record))
    }
  }

  /**
   * The principal for a presented key's SHA-256 (hex). Synchronous for config keys and remembered
   * ones, so the usual request pays no promise; throws the 401 (or 503) as a GatewayError.
   */
  verify(hash: string): Principal | Promise<Principal> {
    const configured = this.#configByHash.get(hash)
    if (configured) return this.#admit(configured)
    const remembered = this.#remembered.get(hash)
    if (remembered && this.#now() - remembered.verifiedAt < this.#ttlMs)
      return this.#admit(remembered.admission)
    const generation = this.#generation
    let found: ReturnType<KeyStore['findByHash']>
    try {
      found = this.#store.findByHash(hash)
    } catch (err) {
      return this.#lookupFailed(err, remembered)
    }
    if (found instanceof Promise) {
      return found.then(
        (key) => this.#afterLookup(hash, key, generation),
        (err) => this.#lookupFailed(err, remembered),
      )
    }
    return this.#afterLookup(hash, found, generation)
  }

  #afterLookup(hash: string, key: StoredKey | undefined, generation: number): Principal {
    if (!key) {
      this.#remembered.delete(hash)
      throw unknownKey()
    }
    const admission = toAdmission(key)
    if (generation === this.#generation) this.#remembered.set(hash, { admission, verifiedAt: this.#now() })
    return this.#admit(admission)
  }

  #lookupFailed(err: unknown, remembered: Remembered | undefined): Principal {
    if (isStoreDown(err) && remembered && this.#now() - remembered.verifiedAt < this.#staleMs) {
      return this.#admit(remembered.admission)
    }
    throw err
  }

  #admit(admission: Admission): Principal {
    if (admission.disabled) throw disabledKey(admission.principal.name)
    if (admission.expiresAtMs <= this.#now()) throw expiredKey(admission.principal.name, admission.expiresAt!)
    return admission.principal
  }

  /** Drops what this replica remembers about the key `id`; the next request asks the store. */
  forget(id: string): void {
    this.#generation++
    const stale: string[] = []
    for (const [hash, entry] of this.#remembered.entries()) {
      if (entry.admission.principal.id === id) stale.push(hash)
    }
    for (const hash of stale) this.#remembered.delete(hash)
  }

  async list(): Promise<{ keys: KeyRecord[]; hasMore: boolean }> {
    const page = await this.#store.list(listLimit)
    return { keys: [...this.#configById.values(), ...page.keys.map(toRecord)], hasMore: page.hasMore }
  }

  async get(id: string): Promise<KeyRecord> {
    const configured = this.#configById.get(id)
    if (configured) return configured
    const stored = await this.#store.get(id)
    if (!stored) throw keyNotFound(id)
    return toRecord(stored)
  }

  async create(input: CreateKeyInput): Promise<IssuedKey> {
    const secret = generateSecret()
    const at = new Date(this.#now()).toISOString()
    const key: StoredKey = {
      id: newKeyId(),
      name: input.name,
      source: 'api',
      disabled: input.disabled ?? false,
      key_hint: keyHint(secret),
      created_at: at,
      updated_at: at,
      hash: hashSecret(secret),
    }
    copyLimits(input, key)
    await this.#store.create(key)
    return { record: toRecord(key), secret }
  }

  async update(id: string, patch: KeyPatch): Promise<KeyRecord> {
    const at = new Date(this.#now()).toISOString()
    const updated = await this.#change(id, (current) => {
      const next: StoredKey = { ...current, updated_at: at }
      if (patch.name !== undefined) next.name = patch.name
      if (patch.disabled !== undefined) next.disabled = patch.disabled
      for (const field of limitFieldNames) {
        const value = patch[field]
        if (value === null) delete next[field]
        else if (value !== undefined) copyLimits({ [field]: value }, next)
      }
      return next
    })
    return toRecord(updated)
  }

  /** A new secret for the same id and record: limits and spend stay attached to the id. */
  async rotate(id: string): Promise<IssuedKey> {
    const secret = generateSecret()
    const at = new Date(this.#now()).toISOString()
    const updated = await this.#change(id, (current) => ({
      ...current,
      hash: hashSecret(secret),
      key_hint: keyHint(secret),
      updated_at: at,
    }))
    return { record: toRecord(updated), secret }
  }

  async delete(id: string): Promise<void> {
    if (this.#configById.has(id)) throw configKeyReadOnly(id)
    try {
      if (!(await this.#store.delete(id))) throw keyNotFound(id)
    } finally {
      this.forget(id)
    }
  }

  async #change(id: string, change: (current: StoredKey) => StoredKey): Promise<StoredKey> {
    if (this.#configById.has(id)) throw configKeyReadOnly(id)
    try {
      const updated = await this.#store.update(id, change)
      if (!updated) throw keyNotFound(id)
      return updated
    } finally {
      // Also after a failure: the write may have landed before the answer was lost.
      this.forget(id)
    }
  }
}
