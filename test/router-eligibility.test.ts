import { describe, expect, it } from 'vitest'
import type { CapabilityName } from '../plugins/capabilities.js'
import {
  type EligibilityInput,
  filterEligible,
  orderCandidates,
  requestKind,
} from '../plugins/router/eligibility.js'
import { noUsableTarget } from '../plugins/router/errors.js'
import { createSeededRng } from '../plugins/router/random.js'
import { RoundRobinCursors, type StrategyContext } from '../plugins/router/strategies.js'
import { type RouteTarget, targetId } from '../plugins/router/types.js'
import { type Capabilities, fullCapabilities } from '../providers/contract.js'

function target(provider: string, extra: Partial<RouteTarget> = {}): RouteTarget {
  return { id: targetId(provider, 'm'), provider, model: 'm', weight: 1, ...extra }
}

const textOnly: Capabilities = { ...fullCapabilities, vision: false, tools: false, json_schema: false }

function input(overrides: Partial<EligibilityInput> = {}): EligibilityInput {
  return {
    needs: ['chat'],
    capabilitiesOf: () => fullCapabilities,
    isOpen: () => false,
    inFlight: () => 0,
    ...overrides,
  }
}

function strategyContext(): StrategyContext {
  return {
    rng: createSeededRng(1),
    group: 'g',
    cursors: new RoundRobinCursors(),
    inFlight: () => 0,
    latencyOf: () => undefined,
    explorationRate: 0,
  }
}

describe('filterEligible', () => {
  it('skips with a reason: capability missing, circuit open, max_concurrency reached', () => {
    const blind = target('blind')
    const open = target('open')
    const full = target('full', { max_concurrency: 2 })
    const spare = target('spare', { max_concurrency: 2 })
    const ok = target('ok')
    const inFlight = new Map([
      [full.id, 2],
      [spare.id, 1],
    ])
    const result = filterEligible(
      [blind, open, full, spare, ok],
      input({
        needs: ['chat', 'vision', 'tools'],
        capabilitiesOf: (t) => (t === blind ? textOnly : fullCapabilities),
        isOpen: (t) => t === open,
        inFlight: (t) => inFlight.get(t.id) ?? 0,
      }),
    )
    expect(result.eligible).toEqual([spare, ok])
    expect(result.deferred).toEqual([])
    expect(result.skipped).toEqual([
      { target: blind, reason: 'capability_missing', missing: ['vision', 'tools'] },
      { target: open, reason: 'circuit_open' },
      { target: full, reason: 'max_concurrency' },
    ])
  })

  it('reports a missing capability before an open circuit, the reason that does not pass with time', () => {
    const both = target('both')
    const { skipped } = filterEligible(
      [both],
      input({ needs: ['chat', 'json_schema'], capabilitiesOf: () => textOnly, isOpen: () => true }),
    )
    expect(skipped).toEqual([{ target: both, reason: 'capability_missing', missing: ['json_schema'] }])
  })

  it('steers a text-only request to prefer_for: [text] targets and defers the others', () => {
    const cheapText = target('cheap-text', { prefer_for: ['text'] })
    const general = target('general')
    const result = filterEligible([general, cheapText], input({ prefer: 'text' }))
    expect(result.eligible).toEqual([cheapText])
    expect(result.deferred).toEqual([general])
    expect(orderCandidates('weighted', result, strategyContext())).toEqual([cheapText, general])
  })

  it('does not steer when no preferred target is usable, or when the request is not text-only', () => {
    const cheapText = target('cheap-text', { prefer_for: ['text'] })
    const general = target('general')
    const whenOpen = filterEligible(
      [general, cheapText],
      input({ prefer: 'text', isOpen: (t) => t === cheapText }),
    )
    expect(whenOpen.eligible).toEqual([general])
    expect(whenOpen.deferred).toEqual([])
    const needs: CapabilityName[] = ['chat', 'vision']
    const vision = filterEligible([general, cheapText], input({ needs, prefer: requestKind(needs) }))
    expect(vision.eligible).toEqual([general, cheapText])
    expect(vision.deferred).toEqual([])
  })
})

describe('requestKind', () => {
  it.each<[CapabilityName[], string | undefined]>([
    [['chat'], 'text'],
    [['chat', 'streaming'], 'text'],
    [['chat', 'tools'], undefined],
    [['chat', 'vision'], undefined],
    [['chat', 'streaming', 'json_schema'], undefined],
    [['embeddings'], undefined],
    [[], undefined],
  ])('%j is %s', (needs, kind) => {
    expect(requestKind(needs)).toBe(kind)
  })
})

describe('orderCandidates', () => {
  it('keeps round-robin fair over the eligible tier when a deferred tier exists', () => {
    const a = target('a', { prefer_for: ['text'] })
    const b = target('b', { prefer_for: ['text'] })
    const c = target('c')
    const ctx = strategyContext()
    const eligibility = filterEligible([a, b, c], input({ prefer: 'text' }))
    const firsts = Array.from({ length: 4 }, () => orderCandidates('round-robin', eligibility, ctx)[0])
    expect(firsts).toEqual([a, b, a, b])
    expect(orderCandidates('round-robin', eligibility, ctx).at(-1)).toBe(c)
  })
})

describe('noUsableTarget', () => {
  it('is a 503 with Retry-After in whole seconds when breakers or limits refused', () => {
    const skipped = [
      { target: target('a'), reason: 'circuit_open' as const },
      { target: target('b'), reason: 'circuit_open' as const },
      { target: target('c'), reason: 'max_concurrency' as const },
    ]
    const retryAfterMs = 12_300
    const error = noUsableTarget('gpt-x', skipped, retryAfterMs)
    expect(error.statusCode).toBe(503)
    expect(error.code).toBe('no_target_available')
    expect(error.headers['retry-after']).toBe(String(Math.ceil(retryAfterMs / 1000)))
    expect(error.message).toContain('`gpt-x`')
    expect(error.message).toContain('2 circuit open')
    expect(error.message).toContain('1 at max_concurrency')
  })

  it('is a 400 naming the capability when no target has it', () => {
    const skipped = [
      { target: target('a'), reason: 'capability_missing' as const, missing: ['vision' as const] },
    ]
    const error = noUsableTarget('gpt-x', skipped)
    expect(error.statusCode).toBe(400)
    expect(error.code).toBe('unsupported_capability')
    expect(error.message).toContain('vision')
    expect(error.headers).toEqual({})
  })
})
