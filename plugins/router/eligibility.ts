// Which targets of a group may take this request, and why the others may not. Strategies only ever
// see eligible targets; the skipped list with reasons feeds the debug log and the metrics.

import type { Capabilities } from '../../providers/contract.js'
import type { CapabilityName } from '../capabilities.js'
import type { StrategyName } from './config-schema.js'
import { orderTargets, type StrategyContext } from './strategies.js'
import type { RouteTarget } from './types.js'

export type SkipReason =
  | 'capability_missing'
  | 'provider_disabled'
  | 'circuit_open'
  | 'max_concurrency'
  | 'max_rpm'

export interface SkippedTarget {
  target: RouteTarget
  reason: SkipReason
  /** For capability_missing: the capabilities it lacks, e.g. ['vision']. */
  missing?: CapabilityName[]
}

export interface EligibilityInput {
  needs: readonly CapabilityName[]
  capabilitiesOf: (target: RouteTarget) => Capabilities
  /** True while the breaker refuses calls (open, or half-open with its one trial running). */
  isOpen: (target: RouteTarget) => boolean
  /** True for a provider an operator switched off at runtime (POST /admin/providers/{name}/disable). */
  isDisabled?: (target: RouteTarget) => boolean
  inFlight: (target: RouteTarget) => number
  /** The request's kind for `prefer_for` steering, from requestKind(); undefined: no steering. */
  prefer?: string
}

export interface Eligibility {
  /** Usable targets to order with the strategy: the preferred ones when steering applies. */
  eligible: RouteTarget[]
  /** Usable but not preferred: tried only after every eligible one, so steering never costs uptime. */
  deferred: RouteTarget[]
  skipped: SkippedTarget[]
}

const textOnlyNeeds: ReadonlySet<CapabilityName> = new Set(['chat', 'streaming'])

/** 'text' when the request needs nothing beyond plain chat (no tools, images or JSON schema). */
export function requestKind(needs: readonly CapabilityName[]): string | undefined {
  return needs.length > 0 && needs.every((need) => textOnlyNeeds.has(need)) ? 'text' : undefined
}

export function filterEligible(targets: readonly RouteTarget[], input: EligibilityInput): Eligibility {
  const usable: RouteTarget[] = []
  const skipped: SkippedTarget[] = []
  for (const target of targets) {
    // Capability first: it is the one reason that will not go away by waiting.
    const capabilities = input.capabilitiesOf(target)
    // An array only for a target that lacks something: most have every capability asked for.
    let missing: CapabilityName[] | undefined
    for (const need of input.needs) {
      if (capabilities[need]) continue
      missing ??= []
      missing.push(need)
    }
    if (missing) skipped.push({ target, reason: 'capability_missing', missing })
    else if (input.isDisabled?.(target)) skipped.push({ target, reason: 'provider_disabled' })
    else if (input.isOpen(target)) skipped.push({ target, reason: 'circuit_open' })
    else if (target.max_concurrency !== undefined && input.inFlight(target) >= target.max_concurrency)
      skipped.push({ target, reason: 'max_concurrency' })
    else usable.push(target)
  }
  const prefer = input.prefer
  const preferred = prefer ? usable.filter((t) => t.prefer_for?.includes(prefer)) : []
  // Steering only narrows the first choice when a preferred target is actually usable.
  if (preferred.length === 0 || preferred.length === usable.length)
    return { eligible: usable, deferred: [], skipped }
  return { eligible: preferred, deferred: usable.filter((t) => !preferred.includes(t)), skipped }
}

/** The full try order: the strategy over the eligible targets, then over the deferred ones. */
export function orderCandidates(
  strategy: StrategyName,
  eligibility: Pick<Eligibility, 'eligible' | 'deferred'>,
  ctx: StrategyContext,
): RouteTarget[] {
  const first = orderTargets(strategy, eligibility.eligible, ctx)
  if (eligibility.deferred.length === 0) return first
  // A cursor of its own for the deferred tier: sharing the group's would move it twice per request,
  // and with two eligible targets round-robin would then always start on the same one.
  const deferredCtx = { ...ctx, group: `${ctx.group}#deferred` }
  return first.concat(orderTargets(strategy, eligibility.deferred, deferredCtx))
}
