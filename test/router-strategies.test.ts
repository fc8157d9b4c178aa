import { describe, expect, it } from 'vitest'
import { strategyNames } from '../plugins/router/config-schema.js'
import { filterEligible } from '../plugins/router/eligibility.js'
import { createSeededRng } from '../plugins/router/random.js'
import {
  blendedPrice,
  type LatencyView,
  orderLeastBusy,
  orderLowestCost,
  orderLowestLatency,
  orderPriority,
  orderRoundRobin,
  orderTargets,
  orderWeighted,
  RoundRobinCursors,
  type StrategyContext,
} from '../plugins/router/strategies.js'
import { type RouteTarget, targetId } from '../plugins/router/types.js'
import { fullCapabilities } from '../providers/contract.js'

function target(provider: string, extra: Partial<RouteTarget> = {}): RouteTarget {
  const model = extra.model ?? 'm'
  return { id: targetId(provider, model), provider, model, weight: 1, ...extra }
}

const ids = (targets: readonly RouteTarget[]) => targets.map((t) => t.id)

function shareFirst(runs: number, pick: () => RouteTarget[], id: string): number {
  let hits = 0
  for (let i = 0; i < runs; i++) if (pick()[0]!.id === id) hits++
  return hits / runs
}

describe('weighted', () => {
  it.each([1, 2, 3, 42, 2024])(
    '3:1 weights put the heavier target first 75%% ±5%% of 2,000 picks (seed %i)',
    (seed) => {
      const heavy = target('a', { weight: 3 })
      const light = target('b', { weight: 1 })
      const rng = createSeededRng(seed)
      const expected = heavy.weight / (heavy.weight + light.weight)
      const share = shareFirst(2000, () => orderWeighted([heavy, light], rng), heavy.id)
      expect(Math.abs(share - expected)).toBeLessThanOrEqual(0.05)
    },
  )

  it('draws without replacement: every target once, weight-0 standbys last in config order', () => {
    const candidates = [
      target('standby1', { weight: 0 }),
      target('a', { weight: 2 }),
      target('standby2', { weight: 0 }),
      target('b', { weight: 5 }),
      target('c', { weight: 1 }),
    ]
    const rng = createSeededRng(7)
    for (let i = 0; i < 200; i++) {
      const order = orderWeighted(candidates, rng)
      expect([...ids(order)].sort()).toEqual([...ids(candidates)].sort())
      expect(ids(order.slice(-2))).toEqual(['standby1/m', 'standby2/m'])
    }
  })

  it('the second position follows the remaining weights', () => {
    // With a first, b (weight 3) should follow a twice as often as c (weight 1.5): 3 / 4.5.
    const a = target('a', { weight: 1 })
    const b = target('b', { weight: 3 })
    const c = target('c', { weight: 1.5 })
    const rng = createSeededRng(11)
    let afterA = 0
    let bAfterA = 0
    for (let i = 0; i < 20_000; i++) {
      const order = orderWeighted([a, b, c], rng)
      if (order[0] === a) {
        afterA++
        if (order[1] === b) bAfterA++
      }
    }
    expect(Math.abs(bAfterA / afterA - b.weight / (b.weight + c.weight))).toBeLessThan(0.03)
  })
})

describe('round-robin', () => {
  it('rotates the start through the targets, one cursor per group', () => {
    const candidates = [target('a'), target('b'), target('c')]
    const cursors = new RoundRobinCursors()
    const firsts: string[] = []
    for (let i = 0; i < 2 * candidates.length; i++) {
      const order = orderRoundRobin(candidates, cursors, 'group-1')
      const start = i % candidates.length
      expect(ids(order)).toEqual(ids([...candidates.slice(start), ...candidates.slice(0, start)]))
      firsts.push(order[0]!.id)
      // Another group's turns do not move this group's cursor.
      orderRoundRobin(candidates, cursors, 'group-2')
    }
    expect(firsts).toEqual([...ids(candidates), ...ids(candidates)])
  })

  it('returns nothing for no candidates', () => {
    expect(orderRoundRobin([], new RoundRobinCursors(), 'g')).toEqual([])
  })
})

describe('least-busy', () => {
  it('orders by in-flight calls ascending', () => {
    const inFlight: Record<string, number> = { 'a/m': 3, 'b/m': 0, 'c/m': 1 }
    const order = orderLeastBusy(
      [target('a'), target('b'), target('c')],
      (id) => inFlight[id]!,
      createSeededRng(1),
    )
    expect(order.map((t) => inFlight[t.id])).toEqual(Object.values(inFlight).sort((x, y) => x - y))
  })

  it('breaks ties at random', () => {
    const tied = [target('a'), target('b')]
    const rng = createSeededRng(5)
    const share = shareFirst(2000, () => orderLeastBusy(tied, () => 2, rng), 'a/m')
    expect(Math.abs(share - 1 / tied.length)).toBeLessThan(0.05)
  })
})

describe('lowest-latency', () => {
  const fast = target('fast')
  const medium = target('medium')
  const slow = target('slow')
  const views: Record<string, LatencyView> = {
    'fast/m': { ewmaMs: 80, stale: false },
    'medium/m': { ewmaMs: 200, stale: false },
    'slow/m': { ewmaMs: 900, stale: false },
  }

  it('without exploration orders by average ascending and puts unmeasured targets last', () => {
    const fresh = target('fresh')
    const order = orderLowestLatency([slow, fresh, fast, medium], (id) => views[id], createSeededRng(3), 0)
    const measured = [fast, medium, slow].sort((x, y) => views[x.id]!.ewmaMs - views[y.id]!.ewmaMs)
    expect(ids(order)).toEqual(ids([...measured, fresh]))
  })

  it('prefers the fast target yet explores at the configured rate', () => {
    const rate = 0.1
    const rng = createSeededRng(9)
    const candidates = [slow, medium, fast]
    const runs = 5000
    const share = shareFirst(
      runs,
      () => orderLowestLatency(candidates, (id) => views[id], rng, rate),
      fast.id,
    )
    // Exploiting picks fast; exploring shuffles all three (every one measured and fresh).
    const expected = 1 - rate + rate / candidates.length
    expect(Math.abs(share - expected)).toBeLessThan(0.02)
    const slowShare = shareFirst(
      runs,
      () => orderLowestLatency(candidates, (id) => views[id], rng, rate),
      slow.id,
    )
    expect(slowShare).toBeGreaterThan(0)
    expect(Math.abs(slowShare - rate / candidates.length)).toBeLessThan(0.015)
  })

  it('sends a stale or never-measured target first when exploring, so a recovered target is retried', () => {
    const recovered = target('recovered')
    const stale: Record<string, LatencyView | undefined> = {
      ...views,
      'recovered/m': { ewmaMs: 5000, stale: true },
    }
    const rate = 0.05
    const rng = createSeededRng(21)
    const share = shareFirst(
      10_000,
      () => orderLowestLatency([fast, recovered, medium], (id) => stale[id], rng, rate),
      recovered.id,
    )
    expect(Math.abs(share - rate)).toBeLessThan(0.01)
    // When not exploring, its old (slow) average ranks it, not its staleness.
    const exploit = orderLowestLatency([fast, recovered, medium], (id) => stale[id], createSeededRng(1), 0)
    expect(exploit.at(-1)).toBe(recovered)
  })
})

describe('lowest-cost', () => {
  const price = (input: number, output: number) => ({ input_per_mtok: input, output_per_mtok: output })

  it('cheapest first, unknown price last', () => {
    const candidates = [
      target('unknown'),
      target('pricey', { price: price(10, 30) }),
      target('cheap', { price: price(0.15, 0.6) }),
      target('mid', { price: price(2.5, 10) }),
    ]
    const order = orderLowestCost(candidates, createSeededRng(2))
    const priced = candidates.filter((t) => t.price).sort((x, y) => blendedPrice(x)! - blendedPrice(y)!)
    expect(ids(order)).toEqual(ids([...priced, candidates[0]!]))
  })

  it('weighs input and output prices by the token mix', () => {
    const cheapInput = target('cheap-in', { price: price(1, 20) })
    const cheapOutput = target('cheap-out', { price: price(5, 5) })
    const promptHeavy = { input: 10_000, output: 100 }
    const answerHeavy = { input: 100, output: 10_000 }
    expect(orderLowestCost([cheapOutput, cheapInput], createSeededRng(1), promptHeavy)[0]).toBe(cheapInput)
    expect(orderLowestCost([cheapInput, cheapOutput], createSeededRng(1), answerHeavy)[0]).toBe(cheapOutput)
  })

  it('breaks a price tie by weight', () => {
    const same = price(1, 1)
    const order = orderLowestCost(
      [target('light', { price: same, weight: 1 }), target('heavy', { price: same, weight: 4 })],
      createSeededRng(4),
    )
    expect(ids(order)).toEqual(['heavy/m', 'light/m'])
  })
})

describe('priority', () => {
  it('lowest number first, unnumbered last', () => {
    const candidates = [
      target('none'),
      target('p2', { priority: 2 }),
      target('p0', { priority: 0 }),
      target('p1', { priority: 1 }),
    ]
    const order = orderPriority(candidates, createSeededRng(8))
    expect(order.map((t) => t.priority)).toEqual([0, 1, 2, undefined])
  })

  it('shares a tier by weight', () => {
    const heavy = target('heavy', { priority: 0, weight: 3 })
    const light = target('light', { priority: 0, weight: 1 })
    const backup = target('backup', { priority: 1, weight: 100 })
    const rng = createSeededRng(13)
    const share = shareFirst(2000, () => orderPriority([backup, light, heavy], rng), heavy.id)
    expect(Math.abs(share - 0.75)).toBeLessThanOrEqual(0.05)
    expect(orderPriority([backup, light, heavy], rng).at(-1)).toBe(backup)
  })

  it('falls to the next priority when the first is ineligible', () => {
    const primary = target('primary', { priority: 0 })
    const secondary = target('secondary', { priority: 1 })
    const tertiary = target('tertiary', { priority: 2 })
    const { eligible, skipped } = filterEligible([primary, secondary, tertiary], {
      needs: ['chat'],
      capabilitiesOf: () => fullCapabilities,
      isOpen: (t) => t === primary,
      inFlight: () => 0,
    })
    expect(skipped.map((s) => [s.target.id, s.reason])).toEqual([[primary.id, 'circuit_open']])
    expect(ids(orderPriority(eligible, createSeededRng(1)))).toEqual([secondary.id, tertiary.id])
  })
})

describe('orderTargets', () => {
  it.each(strategyNames)('%s returns every candidate exactly once', (strategy) => {
    const candidates = [
      target('a', { weight: 2, priority: 1, price: { input_per_mtok: 1, output_per_mtok: 2 } }),
      target('b', { weight: 0 }),
      target('c', { weight: 1, priority: 0 }),
      target('d', { weight: 5, price: { input_per_mtok: 3, output_per_mtok: 1 } }),
    ]
    const ctx: StrategyContext = {
      rng: createSeededRng(17),
      group: 'g',
      cursors: new RoundRobinCursors(),
      inFlight: (id) => id.length,
      latencyOf: (id) => (id === 'a/m' ? { ewmaMs: 10, stale: false } : undefined),
      explorationRate: 0.05,
    }
    for (let i = 0; i < 50; i++) {
      expect([...ids(orderTargets(strategy, candidates, ctx))].sort()).toEqual(ids(candidates).sort())
    }
  })
})
