import { describe, expect, it } from 'vitest'
import { GatewayError } from '../plugins/gateway-error.js'
import { LatencyTracker } from '../plugins/router/latency.js'
import { redactSecrets, TargetStatsRegistry } from '../plugins/router/target-stats.js'

function clock(start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

describe('LatencyTracker', () => {
  it('seeds with the first sample, then weighs each new one by alpha', () => {
    const alpha = 0.25
    const tracker = new LatencyTracker({ alpha })
    const samples = [400, 100, 100, 900, 120]
    let expected: number | undefined
    for (const sample of samples) {
      tracker.record('a', sample)
      expected = expected === undefined ? sample : alpha * sample + (1 - alpha) * expected
      expect(tracker.get('a')!.ewmaMs).toBeCloseTo(expected, 10)
    }
    expect(tracker.get('a')!.samples).toBe(samples.length)
    expect(tracker.get('b')).toBeUndefined()
  })

  it('ignores samples that are not a duration', () => {
    const tracker = new LatencyTracker()
    tracker.record('a', 50)
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY]) tracker.record('a', bad)
    expect(tracker.get('a')).toMatchObject({ ewmaMs: 50, samples: 1 })
  })

  it('calls an average stale once it is older than staleAfterMs, and never-measured stale too', () => {
    const time = clock()
    const staleAfterMs = 60_000
    const tracker = new LatencyTracker({ staleAfterMs, now: time.now })
    expect(tracker.isStale('a')).toBe(true)
    tracker.record('a', 10)
    expect(tracker.isStale('a')).toBe(false)
    time.advance(staleAfterMs)
    expect(tracker.isStale('a')).toBe(false)
    time.advance(1)
    expect(tracker.isStale('a')).toBe(true)
  })

  it.each([0, -0.1, 1.5, Number.NaN])('rejects alpha %s', (alpha) => {
    expect(() => new LatencyTracker({ alpha })).toThrow(/alpha/)
  })
})

describe('TargetStatsRegistry', () => {
  it('counts in-flight calls and a release called twice still counts once', () => {
    const stats = new TargetStatsRegistry()
    const releases = [stats.begin('a'), stats.begin('a'), stats.begin('b')]
    expect([stats.inFlight('a'), stats.inFlight('b')]).toEqual([2, 1])
    releases[0]!()
    releases[0]!()
    expect(stats.inFlight('a')).toBe(1)
    for (const release of releases) release()
    expect([stats.inFlight('a'), stats.inFlight('b')]).toEqual([0, 0])
  })

  it('snapshots latency and the last error, without secrets', () => {
    const time = clock()
    const stats = new TargetStatsRegistry({ now: time.now })
    stats.recordFirstByte('a', 120)
    // Shaped like a Gemini key, built at runtime so secret scanners do not flag the test.
    const key = `AIza${'k'.repeat(35)}`
    stats.recordError(
      'a',
      new GatewayError(
        502,
        `connect failed for https://x.test/v1?key=${key}&alt=sse`,
        'upstream_error',
        'upstream_unreachable',
      ),
    )
    const snapshot = stats.snapshot('a')
    expect(snapshot).toMatchObject({
      inFlight: 0,
      latencyEwmaMs: 120,
      latencySamples: 1,
      latencyUpdatedAt: time.now(),
      lastError: { at: time.now(), status: 502, code: 'upstream_unreachable' },
    })
    expect(snapshot.lastError!.message).not.toContain(key)
    expect(stats.snapshot('never')).toEqual({
      inFlight: 0,
      latencyEwmaMs: null,
      latencySamples: 0,
      latencyUpdatedAt: null,
      lastError: null,
    })
  })

  it('truncates long messages', () => {
    const stats = new TargetStatsRegistry()
    stats.recordError('a', new Error('x'.repeat(5000)))
    expect(stats.snapshot('a').lastError!.message.length).toBeLessThan(300)
  })
})

describe('redactSecrets', () => {
  it.each([
    ['Authorization: Bearer abc.DEF-123_xyz', 'abc.DEF-123_xyz'],
    ['invalid key sk-proj-ABCDEFGH12345678', 'sk-proj-ABCDEFGH12345678'],
    ['GET /v1beta/models?key=secretvalue123&alt=sse', 'secretvalue123'],
    ['url ?api-key=azure-secret-1', 'azure-secret-1'],
    [`key AIza${'d'.repeat(35)} rejected`, `AIza${'d'.repeat(35)}`],
  ])('removes the secret from %j', (text, secret) => {
    const out = redactSecrets(text)
    expect(out).not.toContain(secret)
    expect(out).toContain('[redacted]')
  })

  it('leaves ordinary text alone', () => {
    const text = 'openai (model gpt-4o) returned 503: overloaded, try again'
    expect(redactSecrets(text)).toBe(text)
  })
})
