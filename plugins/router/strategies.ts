// Load-balancing strategies. Each one is a pure function from the eligible targets of a group to the
// order to try them in: the first is the pick, the rest is where retries go. Returning an order
// rather than one pick keeps "retry on another target" a matter of walking the list.
import type { StrategyName, TargetPrice } from './config-schema.js'
import { type Rng, shuffled } from './random.js'
import type { RouteTarget } from './types.js'

/** What lowest-latency needs to know of a target; undefined for a target never measured. */
export interface LatencyView {
  ewmaMs: number
  /** Measured, but too long ago to trust: exploration re-measures it. */
  stale: boolean
}

/** Token counts to weigh input and output prices with, e.g. the prompt estimate and max_tokens. */
export interface TokenMix {
  input: number
  output: number
}

export interface StrategyContext {
  rng: Rng
  /** The public model name: round-robin keeps one cursor per group. */
  group: string
  cursors: RoundRobinCursors
  inFlight: (targetId: string) => number
  latencyOf: (targetId: string) => LatencyView | undefined
  /** lowest-latency: share of requests that explore instead of exploiting, in [0, 1]. */
  explorationRate: number
  /** lowest-cost: the request's expected tokens, computed only when that strategy asks. */
  tokenMix?: () => TokenMix | undefined
  /** lowest-cost: a target's price when its config sets none (the pricing table). */
  priceOf?: (target: RouteTarget) => TargetPrice | undefined
}

/**
 * Weighted random order without replacement: each position is drawn in proportion to the weights
 * still in the pool, so the first pick follows the weights and retries spread the same way.
 * Weight-0 targets are standbys: after every weighted one, in config order.
 */
export function orderWeighted(candidates: readonly RouteTarget[], rng: Rng): RouteTarget[] {
  // The usual group of one: the same draw (rng is still called once) without the pool arrays.
  if (candidates.length === 1) {
    if (candidates[0]!.weight > 0) rng()
    return [candidates[0]!]
  }
  const pool = candidates.filter((t) => t.weight > 0)
  const standby = candidates.filter((t) => !(t.weight > 0))
  const order: RouteTarget[] = []
  while (pool.length > 0) {
    const total = pool.reduce((sum, t) => sum + t.weight, 0)
    let ticket = rng() * total
    let index = 0
    while (index < pool.length - 1) {
      ticket -= pool[index]!.weight
      if (ticket < 0) break
      index++
    }
    order.push(pool[index]!)
    pool.splice(index, 1)
  }
  return order.concat(standby)
}

/** One cursor per group, so two public models sharing a provider do not disturb each other's turn. */
export class RoundRobinCursors {
  readonly #next = new Map<string, number>()

  take(group: string): number {
    const turn = this.#next.get(group) ?? 0
    this.#next.set(group, turn >= Number.MAX_SAFE_INTEGER ? 0 : turn + 1)
    return turn
  }
}

/**
 * The eligible list rotated by the group's cursor. The rotation is over the eligible targets of this
 * request, so a skipped target does not make its neighbour take two turns in a row.
 */
export function orderRoundRobin(
  candidates: readonly RouteTarget[],
  cursors: RoundRobinCursors,
  group: string,
): RouteTarget[] {
  if (candidates.length === 0) return []
  const start = cursors.take(group) % candidates.length
  return candidates.slice(start).concat(candidates.slice(0, start))
}

/** Fewest in-flight calls first; ties in random order so equal targets share the load. */
export function orderLeastBusy(
  candidates: readonly RouteTarget[],
  inFlight: (targetId: string) => number,
  rng: Rng,
): RouteTarget[] {
  return shuffled(candidates, rng).sort((a, b) => inFlight(a.id) - inFlight(b.id))
}

/** Measured targets by average ascending (ties random), then never-measured ones in random order. */
function rankByLatency(
  shuffledCandidates: readonly RouteTarget[],
  latencyOf: (targetId: string) => LatencyView | undefined,
): RouteTarget[] {
  const measured = shuffledCandidates.filter((t) => latencyOf(t.id) !== undefined)
  const unmeasured = shuffledCandidates.filter((t) => latencyOf(t.id) === undefined)
  measured.sort((a, b) => latencyOf(a.id)!.ewmaMs - latencyOf(b.id)!.ewmaMs)
  return measured.concat(unmeasured)
}

/**
 * Fastest average time to first byte first. Pure exploitation would never send traffic to a target
 * that was slow once (or failed, so it was never measured), so with probability `explorationRate`
 * an unmeasured or stale target goes first, or, when every target is freshly measured, the order is
 * random. Unmeasured targets otherwise go last, so a cold start does not send every concurrent
 * request to the one target nobody has measured yet.
 */
export function orderLowestLatency(
  candidates: readonly RouteTarget[],
  latencyOf: (targetId: string) => LatencyView | undefined,
  rng: Rng,
  explorationRate: number,
): RouteTarget[] {
  const explore = rng() < explorationRate
  const mixed = shuffled(candidates, rng)
  if (!explore) return rankByLatency(mixed, latencyOf)
  const unproven = mixed.find((t) => {
    const view = latencyOf(t.id)
    return view === undefined || view.stale
  })
  if (!unproven) return mixed
  return [
    unproven,
    ...rankByLatency(
      mixed.filter((t) => t !== unproven),
      latencyOf,
    ),
  ]
}

/** Price of a target for the token mix; undefined when neither its config nor `priceOf` has one. */
export function blendedPrice(
  target: RouteTarget,
  mix: TokenMix = { input: 1, output: 1 },
  priceOf?: (target: RouteTarget) => TargetPrice | undefined,
): number | undefined {
  const price = target.price ?? priceOf?.(target)
  if (!price) return undefined
  return price.input_per_mtok * mix.input + price.output_per_mtok * mix.output
}

/**
 * Cheapest first for the token mix (1:1 when unknown). Ties go to the higher weight, then random.
 * Targets without a price come last: unknown must not win over a known cheap price.
 */
export function orderLowestCost(
  candidates: readonly RouteTarget[],
  rng: Rng,
  mix?: TokenMix,
  tablePrice?: (target: RouteTarget) => TargetPrice | undefined,
): RouteTarget[] {
  const costs = new Map(
    candidates.map((t) => [t, blendedPrice(t, mix, tablePrice) ?? Number.POSITIVE_INFINITY]),
  )
  return shuffled(candidates, rng).sort((a, b) => costs.get(a)! - costs.get(b)! || b.weight - a.weight)
}

/**
 * Lowest priority number first; the next tier is only reached when the whole tier before it failed
 * or was skipped. Inside a tier the weights share the load (weighted random order), which keeps
 * `weight` meaning the same thing under every strategy. No priority: after every numbered tier.
 */
export function orderPriority(candidates: readonly RouteTarget[], rng: Rng): RouteTarget[] {
  const tiers = new Map<number, RouteTarget[]>()
  for (const target of candidates) {
    const tier = target.priority ?? Number.POSITIVE_INFINITY
    const members = tiers.get(tier)
    if (members) members.push(target)
    else tiers.set(tier, [target])
  }
  return [...tiers.keys()].sort((a, b) => a - b).flatMap((tier) => orderWeighted(tiers.get(tier)!, rng))
}

export function orderTargets(
  strategy: StrategyName,
  candidates: readonly RouteTarget[],
  ctx: StrategyContext,
): RouteTarget[] {
  switch (strategy) {
    case 'weighted':
      return orderWeighted(candidates, ctx.rng)
    case 'round-robin':
      return orderRoundRobin(candidates, ctx.cursors, ctx.group)
    case 'least-busy':
      return orderLeastBusy(candidates, ctx.inFlight, ctx.rng)
    case 'lowest-latency':
      return orderLowestLatency(candidates, ctx.latencyOf, ctx.rng, ctx.explorationRate)
    case 'lowest-cost':
      return orderLowestCost(candidates, ctx.rng, ctx.tokenMix?.(), ctx.priceOf)
    case 'priority':
      return orderPriority(candidates, ctx.rng)
  }
}
