// The price of a (provider, upstream model) pair and the cost of a call, as pure functions over a
// table built once from config/pricing.yaml, `pricing.file` and `pricing.models`.
//
// Costs are integers in nano-USD (1e-9 USD): one cached token of the cheapest model is a few of
// them, and integers add up and cancel out exactly where floats drift, which reservations that are
// added and then released again across many calls need.
import type { TokenUsage } from '../call-record.js'
import { globToRegExp, isGlob } from '../glob.js'
import type { PriceEntry } from './config-schema.js'

/** USD per million tokens; the shape of a target's `price` in the config. */
export interface ModelPrice {
  input_per_mtok: number
  output_per_mtok: number
  /** Absent: cached prompt tokens cost as much as the others. */
  cached_input_per_mtok?: number
}

export const nanosPerUsd = 1e9

/**
 * Dated and versioned suffixes providers put after a model's name: `-2024-08-06`, `-20241022`,
 * `-0613`, `-002`, `-latest`, `-preview-05-20`, `-exp-0827`. Stripped one at a time so
 * `gemini-2.5-flash-preview-05-20` is tried as `gemini-2.5-flash`.
 */
const versionSuffix =
  /-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest|preview(?:-\d{2}-\d{2})?|exp(?:-\d{4,8})?)$/

/** The model id, then each shorter form with one more version suffix removed. */
export function modelNameCandidates(model: string): string[] {
  const names = [model]
  let current = model
  for (;;) {
    const shorter = current.replace(versionSuffix, '')
    if (shorter === current || shorter === '') return names
    names.push(shorter)
    current = shorter
  }
}

export function toModelPrice(entry: PriceEntry): ModelPrice {
  const price: ModelPrice = { input_per_mtok: entry.input, output_per_mtok: entry.output }
  if (entry.cached_input !== undefined) price.cached_input_per_mtok = entry.cached_input
  return price
}

/**
 * Nano-USD for the usage at the price. `cachedPrompt` is part of `prompt` and priced at the cached
 * rate; tokens × USD-per-million is micro-USD, hence × 1000.
 */
export function costNanos(usage: TokenUsage, price: ModelPrice): number {
  const cached = Math.min(Math.max(usage.cachedPrompt, 0), usage.prompt)
  const microUsd =
    (usage.prompt - cached) * price.input_per_mtok +
    cached * (price.cached_input_per_mtok ?? price.input_per_mtok) +
    usage.completion * price.output_per_mtok
  return Math.round(microUsd * 1000)
}

interface GlobRule {
  pattern: RegExp
  price: ModelPrice
  /** Literal characters in the glob: the most specific rule wins (`gpt-4.1-mini*` over `gpt-4.1*`). */
  specificity: number
}

/** Upper bound on memoized lookups: clients can name arbitrary `<provider>/<model>` ids. */
const memoLimit = 2000

export class PriceTable {
  readonly #exact = new Map<string, ModelPrice>()
  readonly #globs: GlobRule[] = []
  readonly #providerTypes: ReadonlyMap<string, string>
  readonly #memo = new Map<string, ModelPrice | null>()

  /**
   * `entries` in increasing precedence (later ones override earlier ones with the same key);
   * `providerTypes` maps each provider name to its type, so `openai/...` keys price every provider
   * of that type.
   */
  constructor(entries: readonly Record<string, PriceEntry>[], providerTypes: ReadonlyMap<string, string>) {
    this.#providerTypes = providerTypes
    const merged = new Map<string, PriceEntry>()
    for (const layer of entries) for (const [key, entry] of Object.entries(layer)) merged.set(key, entry)
    for (const [key, entry] of merged) {
      const price = toModelPrice(entry)
      if (!isGlob(key)) this.#exact.set(key, price)
      else
        this.#globs.push({
          pattern: globToRegExp(key),
          price,
          specificity: key.replace(/[*?]/g, '').length,
        })
    }
    this.#globs.sort((a, b) => b.specificity - a.specificity)
  }

  /**
   * The price of `upstreamModel` served by the provider named `provider`: the target's own price
   * when it has one, else the table's entry for `<provider name>/<model>`, `<provider type>/<model>`
   * or `<model>` (exact keys before globs), trying the model id as sent first and then without its
   * dated suffix. Undefined when nothing matches. An arrow so it can be handed to the router as is.
   */
  readonly priceFor = (
    provider: string,
    upstreamModel: string,
    override?: ModelPrice,
  ): ModelPrice | undefined => {
    if (override) return override
    const memoKey = `${provider}\u0000${upstreamModel}`
    const memoized = this.#memo.get(memoKey)
    if (memoized !== undefined) return memoized ?? undefined
    const found = this.#find(provider, upstreamModel)
    if (this.#memo.size >= memoLimit) this.#memo.clear()
    this.#memo.set(memoKey, found ?? null)
    return found
  }

  #find(provider: string, upstreamModel: string): ModelPrice | undefined {
    const type = this.#providerTypes.get(provider)
    for (const model of modelNameCandidates(upstreamModel)) {
      const keys = [`${provider}/${model}`, model]
      if (type && type !== provider) keys.splice(1, 0, `${type}/${model}`)
      for (const key of keys) {
        const price = this.#exact.get(key) ?? this.#globs.find((rule) => rule.pattern.test(key))?.price
        if (price) return price
      }
    }
    return undefined
  }
}
