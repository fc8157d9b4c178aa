import { describe, expect, it } from 'vitest'
import { backoffCeiling, fullJitterDelay, parseRetryAfter, planRetryWait } from '../plugins/router/backoff.js'
import { createSeededRng } from '../plugins/router/random.js'

const backoff = { base: 200, max: 5000 }

describe('backoffCeiling', () => {
  it('doubles from base and stops at max', () => {
    for (let n = 0; n < 12; n++) {
      expect(backoffCeiling(n, backoff)).toBe(Math.min(backoff.max, backoff.base * 2 ** n))
    }
    expect(backoffCeiling(1000, backoff)).toBe(backoff.max)
  })
})

describe('fullJitterDelay', () => {
  it('stays in [0, ceiling) for every retry, and below an extra cap', () => {
    const rng = createSeededRng(3)
    for (let n = 0; n < 10; n++) {
      for (let i = 0; i < 500; i++) {
        const delay = fullJitterDelay(n, backoff, rng)
        expect(delay).toBeGreaterThanOrEqual(0)
        expect(delay).toBeLessThan(backoffCeiling(n, backoff))
        expect(Number.isInteger(delay)).toBe(true)
        expect(fullJitterDelay(n, backoff, rng, 50)).toBeLessThan(50)
      }
    }
  })

  it('is uniform over [0, ceiling): "full jitter", not equal or decorrelated', () => {
    const rng = createSeededRng(99)
    const retry = 3
    const ceiling = backoffCeiling(retry, backoff)
    const runs = 20_000
    const quarters = [0, 0, 0, 0]
    let sum = 0
    for (let i = 0; i < runs; i++) {
      const delay = fullJitterDelay(retry, backoff, rng)
      sum += delay
      quarters[Math.floor((delay / ceiling) * 4)]!++
    }
    expect(Math.abs(sum / runs - ceiling / 2) / ceiling).toBeLessThan(0.02)
    for (const count of quarters) expect(Math.abs(count / runs - 0.25)).toBeLessThan(0.02)
  })

  it('is 0 when base is 0', () => {
    expect(fullJitterDelay(4, { base: 0, max: 5000 }, createSeededRng(1))).toBe(0)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 15, 12, 0, 0)
  const httpDate = (offsetMs: number) => new Date(now + offsetMs).toUTCString()

  it.each([
    ['0', 0],
    ['7', 7000],
    [' 120 ', 120_000],
    ['1.5', 1500],
  ])('reads delta-seconds %j', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms)
  })

  it('reads an IMF-fixdate as the time left until it', () => {
    expect(parseRetryAfter(httpDate(30_000), now)).toBe(30_000)
  })

  it('reads the obsolete RFC 850 and asctime forms, asctime as GMT', () => {
    expect(parseRetryAfter('Wednesday, 15-Jan-25 12:00:45 GMT', now)).toBe(45_000)
    expect(parseRetryAfter('Wed Jan 15 12:01:00 2025', now)).toBe(60_000)
  })

  it('treats a date in the past as no wait', () => {
    expect(parseRetryAfter(httpDate(-10_000), now)).toBe(0)
  })

  it.each([undefined, null, '', 'soon', '-5', '12abc', 'Tomorrow, 99 Foo 2025'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined()
  })
})

describe('planRetryWait', () => {
  const now = 10_000

  it('waits at least Retry-After when it fits before the deadline', () => {
    const rng = createSeededRng(5)
    const retryAfterMs = 2000
    for (let i = 0; i < 200; i++) {
      const plan = planRetryWait({ retryIndex: 0, backoff, rng, now, deadline: now + 60_000, retryAfterMs })
      expect(plan.wait).toBe(true)
      if (plan.wait) expect(plan.delayMs).toBeGreaterThanOrEqual(retryAfterMs)
    }
  })

  it('uses the jittered backoff when it is longer than Retry-After', () => {
    const rng = createSeededRng(6)
    const retryIndex = 4
    let aboveRetryAfter = 0
    for (let i = 0; i < 200; i++) {
      const plan = planRetryWait({ retryIndex, backoff, rng, now, deadline: now + 60_000, retryAfterMs: 100 })
      if (!plan.wait) throw new Error('expected a wait')
      expect(plan.delayMs).toBeLessThan(backoffCeiling(retryIndex, backoff))
      if (plan.delayMs > 100) aboveRetryAfter++
    }
    expect(aboveRetryAfter).toBeGreaterThan(150)
  })

  it('never sleeps past the deadline', () => {
    const rng = createSeededRng(7)
    const remaining = 300
    for (let i = 0; i < 500; i++) {
      const plan = planRetryWait({ retryIndex: 8, backoff, rng, now, deadline: now + remaining })
      if (!plan.wait) throw new Error('expected a wait')
      expect(plan.delayMs).toBeLessThan(remaining)
    }
  })

  it('does not wait when Retry-After is beyond the deadline, so the caller fails over or gives up', () => {
    const remaining = 5000
    const plan = planRetryWait({
      retryIndex: 0,
      backoff,
      rng: createSeededRng(1),
      now,
      deadline: now + remaining,
      retryAfterMs: remaining,
    })
    expect(plan).toEqual({ wait: false, reason: 'retry_after_beyond_deadline', retryAfterMs: remaining })
  })

  it('does not wait once the deadline has passed', () => {
    const plan = planRetryWait({ retryIndex: 0, backoff, rng: createSeededRng(1), now, deadline: now })
    expect(plan).toEqual({ wait: false, reason: 'deadline_passed' })
  })
})
