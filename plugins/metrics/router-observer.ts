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

  // The cells of the last decision and the last successful attempt: calls mostly repeat them, so
  // the label admission and the lookups are skipped. A label is compared with the name reported, so
  // an `unknown` cell (which a reload may make known) is never reused for a name.
  let lastDecision: { model: string; strategy: string; cell: CounterCell } | undefined
  let lastSuccess: { provider: string; target: string; cell: CounterCell } | undefined

  return {
    decision(event) {
      let model: string
      if (lastDecision?.model === event.model && lastDecision.strategy === event.strategy) {
        model = lastDecision.model
        lastDecision.cell.inc()
      } else {
        const label = models.admit(event.model)
        const byModel = memo(decisions, event.strategy, () => new Map<string, CounterCell>())
        const cell = memo(byModel, label, () => metrics.decisions.bind(label, event.strategy))
        cell.inc()
        lastDecision = { model: label, strategy: event.strategy, cell }
        model = label
      }
      for (const skipped of event.skipped) countSkip(model, skipped.target.id, skipped.reason)
    },
    skip(event) {
      countSkip(models.admit(event.model), event.target, event.reason)
    },
    attemptEnd(event) {
      const provider = event.target.provider
      const success = event.outcome === 'success' && event.reason === null
      if (success && lastSuccess?.target === event.target.id && lastSuccess.provider === provider) {
        lastSuccess.cell.inc()
        return
      }
      const target = targets.admit(event.target.id)
      if (success) {
        const byTarget = memo(successes, provider, () => new Map<string, CounterCell>())
        const cell = memo(byTarget, target, () => metrics.attempts.bind(provider, target, 'success', ''))
        cell.inc()
        lastSuccess = { provider, target, cell }
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
