import { describe, expect, it } from 'vitest'
import type { BreakerRecord } from '../plugins/router/breaker-state.js'
import {
  type BreakerStateStore,
  MemoryBreakerStore,
  type StoredBreaker,
} from '../plugins/router/breaker-store.js'
import { type BreakerTransition, CircuitBreaker } from '../plugins/router/circuit-breaker.js'
import type { CircuitBreakerSettings } from '../plugins/router/config-schema.js'

const defaults: CircuitBreakerSettings = {
  consecutive_failures: 5,
  error_rate: 0.5,
  window_s: 60,
  min_samples: 10,
  cooldown_s: 30,
  trial_timeout_s: 120,
}

/** Resolves every operation on a later macrotask, as a network store would, so callers interleave. */
class SlowStore implements BreakerStateStore {
  readonly inner = new MemoryBreakerStore()
  conflicts = 0
  load(targetId: string): Promise<StoredBreaker | undefined> {
    return new Promise((resolve) => setImmediate(() => resolve(this.inner.load(targetId))))
  }
  compareAndSet(targetId: string, expectedVersion: number, record: BreakerRecord): Promise<boolean> {
    return new Promise((resolve) =>
      setImmediate(() => {
        const written = this.inner.compareAndSet(targetId, expectedVersion, record)
        if (!written) this.conflicts++
        resolve(written)
      }),
    )
  }
}

function setup(settings: Partial<CircuitBreakerSettings> = {}, store?: BreakerStateStore) {
  let now = 0
  const transitions: BreakerTransition[] = []
  const breaker = new CircuitBreaker({
    settings: { ...defaults, ...settings },
    now: () => now,
    store,
    onTransition: (t) => transitions.push(t),
  })
  return {
    breaker,
    transitions,
    advance: (ms: number) => {
      now += ms
    },
    now: () => now,
  }
}

type Outcome = 'success' | 'failure' | 'neutral'

async function call(breaker: CircuitBreaker, id: string, outcome: Outcome) {
  const admission = await breaker.tryAcquire(id)
  if (!admission.admitted) throw new Error(`${id} was refused`)
  await breaker.record(admission.permit, outcome)
}

/** Failure, success, failure...: consecutive failures never pass 1. */
const alternating = (i: number): Outcome => (i % 2 === 0 ? 'failure' : 'success')

const path = (transitions: BreakerTransition[]) => transitions.map((t) => `${t.from}->${t.to}:${t.reason}`)

describe('circuit breaker', () => {
  it('opens after N consecutive failures, half-opens after the cooldown, closes on a trial success', async () => {
    const { breaker, transitions, advance, now } = setup()
    for (let i = 0; i < defaults.consecutive_failures - 1; i++) await call(breaker, 'a', 'failure')
    expect((await breaker.snapshot('a')).state).toBe('closed')
    await call(breaker, 'a', 'failure')
    expect(await breaker.snapshot('a')).toMatchObject({
      state: 'open',
      retryAfterMs: defaults.cooldown_s * 1000,
    })
    expect(transitions).toEqual([
      { targetId: 'a', from: 'closed', to: 'open', reason: 'consecutive_failures', at: now() },
    ])

    advance(defaults.cooldown_s * 1000 - 1)
    expect(await breaker.tryAcquire('a')).toEqual({ admitted: false, state: 'open', retryAfterMs: 1 })
    expect(await breaker.isOpen('a')).toBe(true)

    advance(1)
    expect((await breaker.snapshot('a')).state).toBe('half_open')
    const trial = await breaker.tryAcquire('a')
    expect(trial).toMatchObject({ admitted: true, permit: { targetId: 'a', trialStartedAt: now() } })
    expect(await breaker.isOpen('a')).toBe(true)
    if (trial.admitted) await breaker.record(trial.permit, 'success')

    expect(await breaker.snapshot('a')).toEqual({ state: 'closed', consecutiveFailures: 0, retryAfterMs: 0 })
    expect(path(transitions)).toEqual([
      'closed->open:consecutive_failures',
      'open->half_open:cooldown_elapsed',
      'half_open->closed:trial_succeeded',
    ])
  })

  it('re-opens for a full cooldown when the trial fails', async () => {
    const { breaker, transitions, advance } = setup({ consecutive_failures: 1 })
    await call(breaker, 'a', 'failure')
    advance(defaults.cooldown_s * 1000)
    await call(breaker, 'a', 'failure')
    expect(await breaker.snapshot('a')).toMatchObject({
      state: 'open',
      retryAfterMs: defaults.cooldown_s * 1000,
    })
    expect(path(transitions).slice(-2)).toEqual([
      'open->half_open:cooldown_elapsed',
      'half_open->open:trial_failed',
    ])
  })

  it('admits exactly one trial among concurrent callers in half-open', async () => {
    const { breaker, advance } = setup({ consecutive_failures: 1 })
    await call(breaker, 'a', 'failure')
    advance(defaults.cooldown_s * 1000)
    const callers = 25
    const admissions = await Promise.all(Array.from({ length: callers }, () => breaker.tryAcquire('a')))
    expect(admissions.filter((a) => a.admitted)).toHaveLength(1)
    expect(admissions.filter((a) => !a.admitted && a.state === 'half_open')).toHaveLength(callers - 1)
  })

  it('admits exactly one trial when the store is asynchronous, as Redis will be', async () => {
    const store = new SlowStore()
    const { breaker, advance } = setup({ consecutive_failures: 1 }, store)
    await call(breaker, 'a', 'failure')
    advance(defaults.cooldown_s * 1000)
    const admissions = await Promise.all(Array.from({ length: 10 }, () => breaker.tryAcquire('a')))
    expect(admissions.filter((a) => a.admitted)).toHaveLength(1)
    // The losers really raced: they lost a compare-and-set, re-read, and were refused.
    expect(store.conflicts).toBeGreaterThan(0)
  })

  it('lets the next caller run the trial when the trial ended without a verdict', async () => {
    const { breaker, advance } = setup({ consecutive_failures: 1 })
    await call(breaker, 'a', 'failure')
    advance(defaults.cooldown_s * 1000)
    const first = await breaker.tryAcquire('a')
    if (!first.admitted) throw new Error('expected the trial')
    expect((await breaker.tryAcquire('a')).admitted).toBe(false)
    await breaker.record(first.permit, 'neutral')
    expect((await breaker.tryAcquire('a')).admitted).toBe(true)
  })

  it('admits a new trial when the previous one never reported back within trial_timeout_s, and ignores the late report', async () => {
    const { breaker, advance } = setup({ consecutive_failures: 1 })
    await call(breaker, 'a', 'failure')
    advance(defaults.cooldown_s * 1000)
    const lost = await breaker.tryAcquire('a')
    if (!lost.admitted) throw new Error('expected the trial')
    advance(defaults.trial_timeout_s * 1000)
    const second = await breaker.tryAcquire('a')
    expect(second.admitted).toBe(true)
    await breaker.record(lost.permit, 'success')
    expect((await breaker.snapshot('a')).state).toBe('half_open')
  })

  it('opens on the error rate over the window, but only from min_samples calls', async () => {
    const { breaker, transitions } = setup({ consecutive_failures: 100 })
    // Alternating keeps consecutive failures at 1; the rate sits at or above 50% from the 1st call.
    const outcomes = Array.from({ length: defaults.min_samples }, (_, i) => alternating(i))
    for (const [i, outcome] of outcomes.entries()) {
      const failedSoFar = outcomes.slice(0, i + 1).filter((o) => o === 'failure').length
      expect(failedSoFar / (i + 1)).toBeGreaterThanOrEqual(defaults.error_rate)
      if (i < outcomes.length - 1) {
        await call(breaker, 'a', outcome)
        expect((await breaker.snapshot('a')).state).toBe('closed')
      }
    }
    // The last call is a success and cannot open it; one more failure judged over min_samples does.
    await call(breaker, 'a', outcomes.at(-1)!)
    expect((await breaker.snapshot('a')).state).toBe('closed')
    await call(breaker, 'a', 'failure')
    expect((await breaker.snapshot('a')).state).toBe('open')
    expect(path(transitions)).toEqual(['closed->open:error_rate'])
  })

  it('forgets calls older than the window', async () => {
    const { breaker, advance } = setup({ consecutive_failures: 100 })
    const windowMs = defaults.window_s * 1000
    for (let i = 0; i < defaults.min_samples; i++) await call(breaker, 'a', 'success')
    advance(windowMs / 2)
    const recent = Array.from({ length: defaults.min_samples - 1 }, (_, i) => alternating(i))
    for (const outcome of recent) await call(breaker, 'a', outcome)
    // Diluted by the early successes, the rate is far below error_rate.
    expect((await breaker.snapshot('a')).state).toBe('closed')
    advance(windowMs / 2)
    // The early successes have left the window; the recent calls plus this failure reach the rate.
    const failed = recent.filter((o) => o === 'failure').length + 1
    expect(failed / (recent.length + 1)).toBeGreaterThanOrEqual(defaults.error_rate)
    await call(breaker, 'a', 'failure')
    expect((await breaker.snapshot('a')).state).toBe('open')
  })

  it('does not count neutral outcomes, and a success resets the consecutive count', async () => {
    const { breaker } = setup({ min_samples: 1000 })
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < defaults.consecutive_failures - 1; i++) {
        await call(breaker, 'a', 'failure')
        await call(breaker, 'a', 'neutral')
      }
      await call(breaker, 'a', 'success')
    }
    expect(await breaker.snapshot('a')).toEqual({ state: 'closed', consecutiveFailures: 0, retryAfterMs: 0 })
  })

  it('ignores results of calls admitted before the breaker opened', async () => {
    const { breaker } = setup({ consecutive_failures: 2 })
    const stragglers = await Promise.all([breaker.tryAcquire('a'), breaker.tryAcquire('a')])
    await call(breaker, 'a', 'failure')
    await call(breaker, 'a', 'failure')
    for (const admission of stragglers)
      if (admission.admitted) await breaker.record(admission.permit, 'success')
    expect((await breaker.snapshot('a')).state).toBe('open')
  })

  it('keeps one breaker per target', async () => {
    const { breaker } = setup({ consecutive_failures: 1 })
    await call(breaker, 'a', 'failure')
    expect(await breaker.isOpen('a')).toBe(true)
    expect(await breaker.isOpen('b')).toBe(false)
    expect((await breaker.tryAcquire('b')).admitted).toBe(true)
  })
})
