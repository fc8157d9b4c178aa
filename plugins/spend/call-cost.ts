// What a call may cost before it runs (the budget reservation) and what it did cost after (the spend
// record and the settlement), both in nano-USD from the same price arithmetic.
import type { GatewayContext, InferenceKind } from '../call-record.js'
import { costNanos, type ModelPrice } from '../pricing/table.js'
import type { TokenEstimate } from '../tokens/estimate.js'

/**
 * The most the call may cost: the prompt estimate plus its output bound (max_tokens, or
 * `defaultOutputTokens` when it set none; embeddings have no output), priced at the dearest of
 * the targets that may serve it, since the router may pick any. Targets without a known price add
 * nothing: their calls are not counted against budgets either.
 */
export function estimateCallNanos(
  kind: InferenceKind,
  tokens: TokenEstimate,
  prices: readonly (ModelPrice | undefined)[],
  defaultOutputTokens: number,
): number {
  const usage = {
    prompt: tokens.prompt,
    completion: kind === 'embeddings' ? 0 : (tokens.maxOutput ?? defaultOutputTokens),
    cachedPrompt: 0,
  }
  let most = 0
  for (const price of prices) if (price) most = Math.max(most, costNanos(usage, price))
  return most
}

/** What a served call cost: 0 for a cache hit, undefined when its usage or price is unknown. */
export function servedCallNanos(gateway: GatewayContext, price: ModelPrice | undefined): number | undefined {
  if (gateway.cache === 'HIT') return 0
  if (!price || !gateway.usage) return undefined
  return costNanos(gateway.usage, price)
}
