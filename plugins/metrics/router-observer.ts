// Counts what the router reports (plugins/router/events.ts): decisions and skips, attempts with
// their outcome, retries, fallbacks and breaker transitions. Called synchronously on the request
// path, so children are bound once per label combination, as in call-recorder.ts.
import type { RouterObserver } from '../router/events.js'
import { memo } from './call-recorder.js'
import type { CounterCell } from './cell-counter.js'
import type { MetricSet } from './definitions.js'
import type { BoundedLabels } from './labels.js'

const sep = '\u0000'

/**
 * `models` and `targets` bound the names that become labels. A name the router resolved is
 * admitted here, at its decision, so a call that then fails still counts under its model.
 */
export function createRouterObserver(
  metrics: MetricSet,
  models: BoundedLabels,
  targets: BoundedLabels,
): RouterObserver {
  // Decisions and successful attempts happen on every call: their cells are found through maps of
  // the label values themselves, whose hashes the strings keep, rather than by a key string built
  // (and hashed) again per call.
  const decisions = new Map<string, Map<string, CounterCell>>()
  const successes = new Map<string, Map<string, CounterCell>>()
  const skips = new Map<string, CounterCell>()
  const attempts = new Map<string, CounterCell>()
  const retries = new Map<string, CounterCell>()
  const fallbacks = new Map<string, CounterCell>()
  const transitions = new Map<string, CounterCell>()
  // Failure reasons are built from statuses and error codes (retry-policy.ts): bounded in
  // practice, capped here all the same.
  const reasons = new Map<string, string>()
  const reasonLabel = (reason: string | null): string => {
    if (reason === null) return ''
    const known = reasons.get(reason)
    if (known !== undefined) return known
    const label = reasons.size < 200 ? reason : 'other'
    reasons.set(reason, label)
    return label
  }

  const countSkip = (model: string, target: string, reason: string) => {
    const targetLabel = targets.admit(target)
    memo(skips, model + sep + targetLabel + sep + reason, () =>
      metrics.skips.bind(model, targetLabel, reason),
    ).inc()
  }

  return {
    decision(event) {
      const model = models.admit(event.model)
      const byModel = memo(decisions, event.strategy, () => new Map<string, CounterCell>())
      memo(byModel, model, () => metrics.decisions.bind(model, event.strategy)).inc()
      for (const skipped of event.skipped) countSkip(model, skipped.target, skipped.reason)
    },
    skip(event) {
      countSkip(models.admit(event.model), event.target, event.reason)
    },
    attemptEnd(event) {
      const target = targets.admit(event.target.id)
      const provider = event.target.provider
      if (event.outcome === 'success' && event.reason === null) {
        const byTarget = memo(successes, provider, () => new Map<string, CounterCell>())
        memo(byTarget, target, () => metrics.attempts.bind(provider, target, 'success', '')).inc()
        return
      }
      const reason = reasonLabel(event.reason)
      memo(attempts, provider + sep + target + sep + event.outcome + sep + reason, () =>
        metrics.attempts.bind(provider, target, event.outcome, reason),
      ).inc()
      if (event.next === 'retry') memo(retries, target, () => metrics.retries.bind(target)).inc()
    },
    fallback(event) {
      const from = models.admit(event.from)
      const to = models.admit(event.to)
      memo(fallbacks, from + sep + to + sep + event.kind, () =>
        metrics.fallbacks.bind(from, to, event.kind),
      ).inc()
    },
    breaker(transition) {
      const target = targets.admit(transition.targetId)
      memo(transitions, target + sep + transition.to, () =>
        metrics.circuitTransitions.bind(target, transition.to),
      ).inc()
    },
  }
}
