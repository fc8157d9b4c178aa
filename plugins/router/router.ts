// The request path across targets: pick an order with the strategy, try targets under their circuit
// breakers, retry or fall back as retry-policy decides, and report what served the request.
// Providers never see any of it: each attempt is one plain adapter call.
import { setTimeout as sleep } from 'node:timers/promises'
import type { CallContext, Capabilities } from '../../providers/contract.js'
import { doneResult } from '../../providers/shared/batch.js'
import { type CapabilityName, unsupportedCapability } from '../capabilities.js'
import { ClientAbortError, GatewayError } from '../gateway-error.js'
import { headerSafe } from '../header-value.js'
import type { GroupTarget, ModelCatalog, ModelGroup, ResolvedModel } from '../model-catalog.js'
import { attemptTimedOut, startAttemptTimer } from './attempt-timer.js'
import type { Admission, BreakerPermit } from './breaker-state.js'
import { type BreakerView, type CircuitBreaker, isThenable } from './circuit-breaker.js'
import type { RoutingSettings, TargetPrice } from './config-schema.js'
import { filterEligible, orderCandidates, requestKind, type SkippedTarget } from './eligibility.js'
import { noUsableTarget } from './errors.js'
import type { RouterObservers } from './events.js'
import { type FallbackIndex, type FallbackKind, fallbackChain, fallbackKinds } from './fallback-chain.js'
import type { Rng } from './random.js'
import { classifyFailure, decideNextStep } from './retry-policy.js'
import type { RoundRobinCursors, StrategyContext, TokenMix } from './strategies.js'
import type { TargetRpmWindow } from './target-rpm.js'
import type { TargetStatsRegistry } from './target-stats.js'
import { type RouteTarget, targetId } from './types.js'

/** The per-request part of a CallContext; the router adds the upstream model for each attempt. */
export type BaseCallContext = Omit<CallContext, 'model'>

export interface RouteRequest<T> {
  model: string
  needs: CapabilityName[]
  /** The call returns a stream: it only counts as served once its first item arrived. */
  streaming: boolean
  /**
   * Expected prompt and answer tokens, counted with the tokenizer of `tokenizerModel`; called only
   * when lowest-cost routes the request.
   */
  tokenMix?: (tokenizerModel: string) => TokenMix | undefined
  /**
   * Breaker reads started before the handler (plugins/router/prefetch.ts), so on Redis they overlap
   * the limit and budget round trips; targets they miss, or a failed prefetch, are read here.
   */
  breakerViews?: Promise<BreakerView[] | undefined>
  call: (resolved: ResolvedModel, ctx: CallContext) => Promise<T>
}

export interface Routed<T> {
  value: T
  resolved: ResolvedModel
  attempts: number
  /** The public model that failed over, when a fallback served the request. */
  fallbackFrom?: string
}

export interface RouterDeps {
  catalog: ModelCatalog
  settings: RoutingSettings
  fallbacks: FallbackIndex
  breaker: CircuitBreaker
  stats: TargetStatsRegistry
  cursors: RoundRobinCursors
  rng: Rng
  now: () => number
  observers: RouterObservers
  rpm: TargetRpmWindow
  /** Prices from the pricing table, for lowest-cost targets without a configured price. */
  priceFor?: (provider: string, upstreamModel: string) => TargetPrice | undefined
  /** Providers switched off at runtime (POST /admin/providers/{name}/disable): skipped, not called. */
  isProviderDisabled?: (provider: string) => boolean
}

const toRouteTarget = ({ config }: GroupTarget): RouteTarget => ({
  id: targetId(config.provider, config.model),
  provider: config.provider,
  model: config.model,
  weight: config.weight,
  priority: config.priority,
  max_concurrency: config.max_concurrency,
  max_rpm: config.max_rpm,
  timeout_ms: config.timeout_ms,
  prefer_for: config.prefer_for,
  price: config.price,
})

/** How far a request got, kept across fallbacks for the answer's x-anygate-* headers. */
interface RouteProgress {
  attempts: number
  /** The last target an attempt went to. */
  last?: RouteTarget
}

/**
 * The same x-anygate-* headers a success carries, on the error: which upstream answered the error
 * and after how many attempts is what an operator needs first when reading a failed call.
 */
function withRoutingHeaders(err: unknown, progress: RouteProgress, fallback?: string): unknown {
  if (!(err instanceof GatewayError)) return err
  err.headers['x-anygate-attempts'] = String(progress.attempts)
  if (progress.last) {
    err.headers['x-anygate-provider'] = progress.last.provider
    err.headers['x-anygate-model'] = headerSafe(progress.last.model)
  }
  if (fallback) err.headers['x-anygate-fallback'] = headerSafe(fallback)
  return err
}

const debugEnabled = (level: string) => level === 'debug' || level === 'trace'

const noFallbacks: Readonly<Record<FallbackKind, readonly string[]>> = Object.freeze({
  general: [],
  context_window: [],
  content_policy: [],
})

type TargetAdmission =
  | { admitted: true; permit: BreakerPermit }
  | { admitted: false; reason: 'max_rpm' | 'circuit_open'; retryAfterMs?: number }

const refusedAt = (reason: 'max_rpm' | 'circuit_open', retryAfterMs?: number): TargetAdmission => ({
  admitted: false,
  reason,
  retryAfterMs,
})

/**
 * The breaker's answer; refused: opened (or half-open with its trial out) since the order was made.
 * An admission is passed on as it is: it already has the shape of an admitted TargetAdmission.
 */
const throughBreaker = (admission: Admission): TargetAdmission =>
  admission.admitted ? admission : refusedAt('circuit_open', admission.retryAfterMs)

/**
 * Re-joins a stream whose first item was read to prove the upstream answers; `onEnd` runs once the
 * stream ends, fails or is returned, before the rest is closed. A plain iterator rather than an async
 * generator: a generator layer costs a few promises and microtasks per chunk on every stream.
 * Its reader (the route's encoder, through `for await`) never calls next() concurrently.
 */
class ResumedStream<T> implements AsyncIterableIterator<T> {
  #first: IteratorResult<T> | undefined
  #ended = false
  readonly #rest: AsyncIterator<T>
  readonly #onEnd: () => void

  constructor(first: IteratorResult<T>, rest: AsyncIterator<T>, onEnd: () => void) {
    this.#first = first
    this.#rest = rest
    this.#onEnd = onEnd
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#ended) return Promise.resolve(doneResult)
    const first = this.#first
    if (first !== undefined) {
      this.#first = undefined
      if (!first.done) return Promise.resolve(first)
      return this.#end().then(() => doneResult)
    }
    return this.#rest.next().then(
      (result) => (result.done ? this.#end().then(() => doneResult) : result),
      (err: unknown) =>
        this.#end().then(() => {
          throw err
        }),
    )
  }

  async return(): Promise<IteratorResult<T>> {
    await this.#end()
    return doneResult
  }

  async #end(): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    this.#first = undefined
    this.#onEnd()
    await this.#rest.return?.()
  }
}

export class Router {
  constructor(private readonly deps: RouterDeps) {}

  // The lookups eligibility and the strategies are handed, made once rather than as new closures on
  // every request; each reads deps when called.
  readonly #inFlightOf = (target: RouteTarget) => this.deps.stats.inFlight(target.id)
  readonly #isDisabled = (target: RouteTarget) => this.deps.isProviderDisabled!(target.provider)
  readonly #inFlight = (id: string) => this.deps.stats.inFlight(id)
  readonly #priceOf = (target: RouteTarget) => this.deps.priceFor!(target.provider, target.model)
  readonly #latencyOf = (id: string) => {
    const { latency } = this.deps.stats
    const reading = latency.get(id)
    return reading && { ewmaMs: reading.ewmaMs, stale: latency.isStale(id) }
  }

  async route<T>(base: BaseCallContext, request: RouteRequest<T>): Promise<Routed<T>> {
    const { settings, now } = this.deps
    const deadline = now() + settings.timeout_ms
    // The public models tried so far, made at the first fallback: most calls never fall back.
    let triedModels: Set<string> | undefined
    const progress: RouteProgress = { attempts: 0 }
    let fallbackFrom: string | undefined
    let current = request.model
    for (;;) {
      triedModels?.add(current)
      let outcome: Awaited<ReturnType<typeof this.tryGroup<T>>>
      try {
        outcome = await this.tryGroup(base, request, current, deadline, triedModels, progress)
      } catch (err) {
        throw withRoutingHeaders(err, progress, fallbackFrom && `${fallbackFrom} -> ${current}`)
      }
      if ('value' in outcome)
        return { value: outcome.value, resolved: outcome.resolved, attempts: progress.attempts, fallbackFrom }
      base.log.info(
        { from: current, to: outcome.fallback, reason: outcome.kind },
        'falling back to another model',
      )
      this.deps.observers.fallback({
        requestId: base.requestId,
        from: current,
        to: outcome.fallback,
        kind: outcome.kind,
      })
      fallbackFrom ??= request.model
      triedModels ??= new Set([current])
      current = outcome.fallback
    }
  }

  private async tryGroup<T>(
    base: BaseCallContext,
    request: RouteRequest<T>,
    model: string,
    deadline: number,
    /** Undefined until a fallback: only `model` was tried. */
    triedModels: ReadonlySet<string> | undefined,
    progress: RouteProgress,
  ): Promise<{ value: T; resolved: ResolvedModel } | { fallback: string; kind: FallbackKind }> {
    const { catalog, settings, breaker, stats, now, observers, isProviderDisabled } = this.deps
    const group = catalog.resolveGroup(model)
    const { targets, byId, indexOf, capabilitiesOf } = this.#routeTargetsOf(group)
    // One breaker read per target (by its index in `targets`): eligibility, the no-target wait and
    // each target's first admission. An array rather than a Map: a Map's table is allocated per call.
    const views: (BreakerView | undefined)[] = new Array(targets.length)
    // Only before the first attempt: after a failure those reads are older than what happened since.
    const prefetched = progress.attempts === 0 && model === request.model ? request.breakerViews : undefined
    // Awaited only when there is something to wait for: each await is a microtask turn per call.
    if (prefetched)
      for (const view of (await prefetched) ?? []) {
        const at = indexOf.get(view.targetId)
        if (at !== undefined) views[at] = view
      }
    let pending: Promise<BreakerView>[] | undefined
    for (let i = 0; i < targets.length; i++) {
      if (views[i]) continue
      const read = breaker.read(targets[i]!.id)
      if (!isThenable(read)) views[i] = read
      else if (pending) pending.push(read)
      else pending = [read]
    }
    if (pending) for (const view of await Promise.all(pending)) views[indexOf.get(view.targetId)!] = view
    const viewOf = (target: RouteTarget) => views[indexOf.get(target.id)!]
    const eligibility = filterEligible(targets, {
      needs: request.needs,
      capabilitiesOf,
      isOpen: (t) => viewOf(t)!.open,
      isDisabled: isProviderDisabled && this.#isDisabled,
      inFlight: this.#inFlightOf,
      prefer: requestKind(request.needs),
    })
    const strategy = group.publicModel?.strategy ?? settings.strategy
    const { tokenMix } = request
    const tokenizerModel = eligibility.eligible[0]?.model ?? model
    // Only lowest-cost reads the estimate: no closure for the other strategies.
    const mix = strategy === 'lowest-cost' && tokenMix ? () => tokenMix(tokenizerModel) : undefined
    const order = orderCandidates(strategy, eligibility, this.#strategyContext(model, mix))
    if (observers.wantsDecisions) {
      observers.decision({
        requestId: base.requestId,
        model,
        strategy,
        order,
        skipped: eligibility.skipped,
      })
    }
    // Building the decision record costs more than the routing itself: only when debug is on.
    if (debugEnabled(base.log.level)) {
      base.log.debug(
        {
          model,
          strategy,
          order: order.map((t) => t.id),
          skipped: eligibility.skipped.map((s) => ({
            target: s.target.id,
            reason: s.reason,
            missing: s.missing,
          })),
        },
        'routing decision',
      )
    }
    const fallbacks = this.#untriedFallbacks(group, triedModels)
    if (order.length === 0) {
      if (fallbacks.general[0]) return { fallback: fallbacks.general[0], kind: 'general' }
      const waits = eligibility.skipped
        .filter((s) => s.reason === 'circuit_open')
        .map((s) => viewOf(s.target)!.retryAfterMs)
      throw this.#noTarget(group, eligibility.skipped, waits.length > 0 ? Math.min(...waits) : undefined)
    }

    let attemptsInGroup = 0
    let index = 0
    let lastError: unknown
    // Targets tried so far, and those refused at admission (no attempt spent, for the error when
    // nothing is left). Made when a target fails or refuses, which is where they are read: most calls
    // are served by their first target and need neither.
    let tried: Set<string> | undefined
    let refused: SkippedTarget[] | undefined
    let soonestRetryMs: number | undefined
    for (;;) {
      const target = order[index]!
      // The rate window first: a half-open breaker's one trial must not be taken and then wasted.
      const at = indexOf.get(target.id)!
      const admitting = this.#admit(target, views[at])
      const admission = isThenable(admitting) ? await admitting : admitting
      // Once only: after this call's outcome is written, the read is out of date.
      views[at] = undefined
      if (!admission.admitted) {
        tried ??= new Set()
        const triedSoFar = tried.add(target.id)
        refused ??= []
        refused.push({ target, reason: admission.reason })
        soonestRetryMs = Math.min(
          soonestRetryMs ?? Number.POSITIVE_INFINITY,
          admission.retryAfterMs ?? Number.POSITIVE_INFINITY,
        )
        if (observers.wantsDecisions) {
          observers.skip({ requestId: base.requestId, model, target: target.id, reason: admission.reason })
        }
        const next = order.findIndex((t) => !triedSoFar.has(t.id))
        if (next >= 0) {
          index = next
          continue
        }
        if (fallbacks.general[0]) return { fallback: fallbacks.general[0], kind: 'general' }
        const wait = Number.isFinite(soonestRetryMs) ? soonestRetryMs : undefined
        throw lastError ?? this.#noTarget(group, refused, wait)
      }
      const { resolved } = byId.get(target.id)!
      const release = stats.begin(target.id)
      progress.attempts++
      progress.last = target
      attemptsInGroup++
      const started = now()
      const remaining = deadline - started
      const limitMs = Math.min(target.timeout_ms ?? remaining, remaining)
      const timer = startAttemptTimer(base.signal, limitMs)
      const attemptNo = progress.attempts
      if (observers.wantsAttempts)
        observers.attemptStart({ requestId: base.requestId, model, target, attempt: attemptNo })
      try {
        // Written out, not `{ ...base, signal, model }`: on Node 20 a spread followed by a key the
        // source lacks (model) takes V8's slow path, about 1.7 µs per call.
        const ctx: CallContext = {
          signal: timer.signal,
          requestId: base.requestId,
          log: base.log,
          headers: base.headers,
          clientKey: base.clientKey,
          model: resolved.upstreamModel,
          limitMs,
        }
        const value = await (observers.scopesAttempts
          ? observers.inAttemptScope(base.requestId, attemptNo, () => request.call(resolved, ctx))
          : request.call(resolved, ctx))
        if (!request.streaming) {
          timer.stop()
          timer.unlink()
          release()
          stats.recordFirstByte(target.id, now() - started)
          const recorded = breaker.report(admission.permit, 'success')
          if (recorded) await recorded
          this.#attemptEnded(base, model, target, attemptNo, started, 'success')
          return { value, resolved }
        }
        const iterator = (value as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        const first = await iterator.next().catch(async (err) => {
          await iterator.return?.()
          throw err
        })
        // The deadline is on the first item: a long answer streaming steadily is not a stall.
        timer.stop()
        stats.recordFirstByte(target.id, now() - started)
        const recorded = breaker.report(admission.permit, 'success')
        if (recorded) await recorded
        this.#attemptEnded(base, model, target, attemptNo, started, 'success')
        // In flight until the stream ends, whichever way it ends. A stream destroyed before its first
        // read may never be returned (Fastify destroys it before reading when the client left first): so
        // the client's abort releases too.
        if (base.signal.aborted) release()
        else base.signal.addEventListener('abort', release, { once: true })
        return { value: new ResumedStream(first, iterator, release) as T, resolved }
      } catch (caught) {
        tried ??= new Set()
        const triedSoFar = tried.add(target.id)
        timer.stop()
        timer.unlink()
        release()
        if (base.signal.aborted || (caught instanceof ClientAbortError && !timer.timedOut)) {
          await breaker.record(admission.permit, 'neutral')
          this.#attemptEnded(base, model, target, attemptNo, started, 'client_abort')
          throw caught instanceof ClientAbortError ? caught : new ClientAbortError()
        }
        // The adapter saw its signal abort and reported a client abort; it was our deadline.
        const err = timer.timedOut
          ? attemptTimedOut(
              target.provider,
              target.model,
              limitMs,
              limitMs === target.timeout_ms ? 'timeout_ms' : 'routing.timeout_ms',
            )
          : caught
        const classification = classifyFailure(err, now())
        await breaker.record(admission.permit, classification.breaker)
        stats.recordError(target.id, err)
        lastError = err
        const untried = order.filter((t) => !triedSoFar.has(t.id))
        const step = decideNextStep({
          classification,
          attemptsInGroup,
          retries: settings.retries,
          untriedTargets: untried.length,
          fallbacks,
          streamCommitted: false,
          now: now(),
          deadline,
          backoff: settings.backoff_ms,
          rng: this.deps.rng,
        })
        base.log.debug({ target: target.id, status: classification.status, step }, 'attempt failed')
        this.#attemptEnded(
          base,
          model,
          target,
          attemptNo,
          started,
          'failure',
          classification.status,
          classification.reason,
          step.action === 'give-up' ? 'give-up' : step.action === 'fallback' ? 'fallback' : 'retry',
        )
        if (step.action === 'give-up') throw err
        if (step.action === 'fallback') return { fallback: step.model, kind: step.kind }
        if (step.delayMs > 0) {
          await sleep(step.delayMs, undefined, { signal: base.signal }).catch(() => {
            throw new ClientAbortError()
          })
        }
        if (step.target === 'next-target') index = order.indexOf(untried[0]!)
      }
    }
  }

  /** A method, not a closure made per attempt: most attempts end in one call, often with no observer. */
  #attemptEnded(
    base: BaseCallContext,
    model: string,
    target: RouteTarget,
    attempt: number,
    started: number,
    outcome: 'success' | 'failure' | 'client_abort',
    status: number | null = null,
    reason: string | null = null,
    next: 'retry' | 'fallback' | 'give-up' | null = null,
  ): void {
    const { observers, now } = this.deps
    if (!observers.wantsAttempts) return
    observers.attemptEnd({
      requestId: base.requestId,
      model,
      target,
      attempt,
      outcome,
      status,
      reason,
      next,
      durationMs: now() - started,
    })
  }

  /**
   * May this request call the target now: within its max_rpm, and through its circuit breaker.
   * Without a max_rpm, and on the memory store, it answers without a promise.
   */
  #admit(target: RouteTarget, seen: BreakerView | undefined): TargetAdmission | Promise<TargetAdmission> {
    if (target.max_rpm !== undefined) return this.#admitWithinRpm(target, target.max_rpm, seen)
    const admission = this.deps.breaker.acquire(target.id, seen)
    return isThenable(admission) ? admission.then(throughBreaker) : throughBreaker(admission)
  }

  async #admitWithinRpm(target: RouteTarget, maxRpm: number, seen: BreakerView | undefined) {
    const slot = await this.deps.rpm.tryTake(target.id, maxRpm)
    if (!slot.admitted) return refusedAt('max_rpm', slot.retryAfterMs)
    return throughBreaker(await this.deps.breaker.acquire(target.id, seen))
  }

  // Public model groups are resolved once by the catalog; their route targets are derived once too.
  readonly #routeTargets = new WeakMap<
    ModelGroup,
    {
      targets: RouteTarget[]
      byId: Map<string, GroupTarget>
      /** A target's position in `targets`. */
      indexOf: Map<string, number>
      capabilitiesOf: (target: RouteTarget) => Capabilities
    }
  >()

  #routeTargetsOf(group: ModelGroup) {
    let derived = this.#routeTargets.get(group)
    if (!derived) {
      const targets = group.targets.map(toRouteTarget)
      const byId = new Map(targets.map((t, i) => [t.id, group.targets[i]!]))
      const indexOf = new Map(targets.map((t, i) => [t.id, i]))
      derived = { targets, byId, indexOf, capabilitiesOf: (t) => byId.get(t.id)!.resolved.capabilities }
      this.#routeTargets.set(group, derived)
    }
    return derived
  }

  #strategyContext(group: string, tokenMix: (() => TokenMix | undefined) | undefined): StrategyContext {
    const { cursors, rng, settings, priceFor } = this.deps
    return {
      tokenMix,
      priceOf: priceFor && this.#priceOf,
      rng,
      group,
      cursors,
      inFlight: this.#inFlight,
      latencyOf: this.#latencyOf,
      explorationRate: settings.exploration_rate,
    }
  }

  // A public model's chains, walked once: the fallback index is fixed for this router's life.
  readonly #chains = new Map<string, Readonly<Record<FallbackKind, readonly string[]>>>()

  #untriedFallbacks(
    group: ModelGroup,
    tried: ReadonlySet<string> | undefined,
  ): Readonly<Record<FallbackKind, readonly string[]>> {
    if (!group.publicModel) return noFallbacks
    let chains = this.#chains.get(group.name)
    if (!chains) {
      const walked = {} as Record<FallbackKind, string[]>
      for (const kind of fallbackKinds) walked[kind] = fallbackChain(this.deps.fallbacks, group.name, kind)
      chains = fallbackKinds.every((kind) => walked[kind].length === 0) ? noFallbacks : walked
      this.#chains.set(group.name, chains)
    }
    // Before any fallback only the group itself was tried, and no chain names its own start.
    if (chains === noFallbacks || !tried) return chains
    const untried = {} as Record<FallbackKind, string[]>
    for (const kind of fallbackKinds) untried[kind] = chains[kind].filter((name) => !tried.has(name))
    return untried
  }

  #noTarget(
    group: ModelGroup,
    skipped: Parameters<typeof noUsableTarget>[1],
    retryAfterMs?: number,
  ): GatewayError {
    // A lone target that lacks a capability: the same 400 the client would get from it directly.
    const only = group.targets.length === 1 ? group.targets[0] : undefined
    const missing = skipped[0]?.missing?.[0]
    if (only && missing && skipped.length === 1) {
      return unsupportedCapability(missing, {
        model: group.name,
        provider: only.resolved.provider.name,
        upstreamModel: only.resolved.upstreamModel,
      })
    }
    return noUsableTarget(group.name, skipped, retryAfterMs)
  }
}
