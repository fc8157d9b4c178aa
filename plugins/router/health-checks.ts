// Active health checks (`providers.<name>.health_check`): every public-model target of an opted-in
// provider gets a cheap probe at an interval, and the probe's outcome feeds the target's circuit
// breaker exactly as a routed call's would. A dead upstream then opens before users reach it, and
// once the cooldown is over the probe is the half-open trial, so a recovered upstream closes without
// a user request paying for the experiment.
//
// The probe is a one-token, non-streamed chat completion through the provider's adapter, for every
// provider type. A models-list call would be cheaper, but the adapter contract has none (adding one
// would change every provider plugin, third-party ones included), and it would only prove the host
// and key work: a deleted Azure deployment or an unloaded Ollama model still lists fine while every
// completion for it fails. `max_completion_tokens` rather than `max_tokens`: OpenAI's reasoning models
// reject `max_tokens`, and the adapters map the field for upstreams that only know the old name.
import type { FastifyBaseLogger } from 'fastify'
import type { LoadedConfig } from '../../config/load.js'
import type { ProviderAdapter } from '../../providers/contract.js'
import type { ChatCompletionRequest } from '../../schemas/openai/chat.js'
import { GatewayError } from '../gateway-error.js'
import { startAttemptTimer } from './attempt-timer.js'
import type { BreakerOutcome } from './breaker-state.js'
import type { CircuitBreaker } from './circuit-breaker.js'
import type { Rng } from './random.js'
import { classifyFailure } from './retry-policy.js'
import { summarizeError, type TargetStatsRegistry } from './target-stats.js'
import { type Clock, targetId } from './types.js'

export interface ProbeTarget {
  id: string
  provider: string
  /** The upstream model id the probe asks for. */
  model: string
  adapter: ProviderAdapter
  intervalMs: number
  timeoutMs: number
}

/**
 * One probe target per distinct (provider, model) of the public models whose provider has
 * `health_check` and is live. Bare-name and `<provider>/<model>` traffic is not probed: nothing in
 * the config says which of a provider's models matter.
 */
export function probeTargets(
  config: Pick<LoadedConfig, 'models' | 'providers'>,
  lookup: (provider: string) => ProviderAdapter | undefined,
): ProbeTarget[] {
  const settings = new Map(
    config.providers.flatMap((p) => (p.health_check ? [[p.name, p.health_check]] : [])),
  )
  const targets = new Map<string, ProbeTarget>()
  for (const model of config.models) {
    for (const target of model.targets) {
      const check = settings.get(target.provider)
      const adapter = lookup(target.provider)
      const id = targetId(target.provider, target.model)
      if (!check || !adapter || targets.has(id)) continue
      targets.set(id, {
        id,
        provider: target.provider,
        model: target.model,
        adapter,
        intervalMs: check.interval_s * 1000,
        timeoutMs: check.timeout_s * 1000,
      })
    }
  }
  return [...targets.values()]
}

/** 'skipped': the breaker refused the probe (open in its cooldown, or another call holds the trial). */
export type ProbeOutcome = BreakerOutcome | 'skipped'

export interface HealthChecksOptions {
  targets: readonly ProbeTarget[]
  breaker: CircuitBreaker
  stats: TargetStatsRegistry
  log: FastifyBaseLogger
  now: Clock
  /** Spreads the first probes over one interval, so targets and replicas do not probe in step. */
  rng: Rng
  /** Called after every probe; tests wait on it instead of sleeping. */
  onProbe?: (target: ProbeTarget, outcome: ProbeOutcome) => void
}

const probeRequest = (model: string): ChatCompletionRequest => ({
  model,
  messages: [{ role: 'user', content: 'ping' }],
  max_completion_tokens: 1,
  stream: false,
})

function probeTimedOut(target: ProbeTarget): GatewayError {
  return new GatewayError(
    504,
    `Health check of ${target.id} got no answer within ${target.timeoutMs} ms ` +
      `(providers.${target.provider}.health_check.timeout_s).`,
    'timeout_error',
    'upstream_timeout',
  )
}

export class HealthChecks {
  readonly #options: HealthChecksOptions
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #running = new Set<Promise<void>>()
  /** Aborts the probes in flight when the app closes. */
  readonly #closing = new AbortController()
  /** Per target, the last refusal warned about: one warning per kind of refusal, not one per probe. */
  readonly #warned = new Map<string, string>()
  #started = false

  constructor(options: HealthChecksOptions) {
    this.#options = options
  }

  start(): void {
    if (this.#started || this.#closing.signal.aborted) return
    this.#started = true
    for (const target of this.#options.targets) {
      this.#schedule(target, Math.floor(this.#options.rng() * target.intervalMs))
    }
  }

  /** Stops the timers and aborts the probes in flight; resolves once they have settled. */
  async stop(): Promise<void> {
    this.#closing.abort()
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    await Promise.allSettled(this.#running)
  }

  // The next probe of a target is scheduled only when the previous one has settled: a probe slower
  // than the interval delays the next instead of piling up beside it.
  #schedule(target: ProbeTarget, delayMs: number): void {
    if (this.#closing.signal.aborted) return
    const timer = setTimeout(() => {
      this.#timers.delete(target.id)
      const run = this.probe(target).then((outcome) => {
        this.#running.delete(run)
        this.#options.onProbe?.(target, outcome)
        this.#schedule(target, target.intervalMs)
      })
      this.#running.add(run)
    }, delayMs)
    // A pending probe must not keep the process alive (server.ts exits when the app has closed).
    timer.unref()
    this.#timers.set(target.id, timer)
  }

  /** Probes one target once and reports to its breaker. Never rejects. */
  async probe(target: ProbeTarget): Promise<ProbeOutcome> {
    const { breaker, log } = this.#options
    try {
      const admission = await breaker.tryAcquire(target.id)
      if (!admission.admitted) return 'skipped'
      const outcome = await this.#call(target)
      await breaker.record(admission.permit, outcome.verdict)
      if (outcome.error !== undefined) this.#report(target, outcome.verdict, outcome.error)
      else this.#warned.delete(target.id)
      return outcome.verdict
    } catch (err) {
      // The breaker's store failed (a shared store unreachable): nothing was learnt about the target.
      log.warn({ target: target.id, err: summarizeError(err, this.#options.now()) }, 'health check skipped')
      return 'skipped'
    }
  }

  async #call(target: ProbeTarget): Promise<{ verdict: BreakerOutcome; error?: unknown }> {
    const { log, now } = this.#options
    const timer = startAttemptTimer(this.#closing.signal, target.timeoutMs)
    try {
      await target.adapter.chat(probeRequest(target.model), {
        model: target.model,
        signal: timer.signal,
        requestId: `health-check:${target.id}`,
        log,
        headers: {},
      })
      return { verdict: 'success' }
    } catch (caught) {
      // Cut short by the app closing: says nothing about the upstream, and frees a trial slot.
      if (this.#closing.signal.aborted && !timer.timedOut) return { verdict: 'neutral' }
      const error = timer.timedOut ? probeTimedOut(target) : caught
      return { verdict: classifyFailure(error, now()).breaker, error }
    } finally {
      timer.stop()
      // The closing signal lives as long as the app: without this every probe left a listener on it.
      timer.unlink()
    }
  }

  #report(target: ProbeTarget, verdict: BreakerOutcome, error: unknown): void {
    const { stats, log, now } = this.#options
    stats.recordError(target.id, error)
    // Only the redacted summary is logged: an error object may carry upstream headers or a URL.
    const summary = summarizeError(error, now())
    if (verdict === 'failure') {
      log.debug({ target: target.id, status: summary.status, code: summary.code }, 'health check failed')
      return
    }
    // A 400/401/404 tells nothing about the upstream's health, so the breaker ignores it; but this
    // probe will never prove anything either, which someone should hear about once.
    const kind = `${summary.status}:${summary.code}`
    if (this.#warned.get(target.id) === kind) return
    this.#warned.set(target.id, kind)
    log.warn(
      { target: target.id, status: summary.status, code: summary.code, message: summary.message },
      'health check refused by the upstream; it cannot judge this target until that is fixed',
    )
  }
}
