// Two gateway instances sharing the real Redis take 200 concurrent calls from one key with a budget.
// When calls cost what they reserved, exactly the calls that fit are admitted and the budget is never
// exceeded, however the calls interleave across the two replicas. When calls cost more than their
// estimate, the overshoot is exactly the in-flight reservations' error: with every admitted call held
// in flight at once, spent = admitted × actual ≤ budget + admitted × (actual - estimate).
import type { ServerResponse } from 'node:http'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import type { Principal } from '../plugins/principal.js'
import { estimateTokens } from '../plugins/tokens/estimate.js'
import { chatBody } from './helpers/app.js'
import { completionBody, sendJson, startFakeUpstream } from './helpers/fake-upstream.js'
import { testRedisUrl, uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'
import { bearer, buildSpendApp, configKey, openAIUsage, pricedModel, spendConfig } from './spend-helpers.js'

const prefix = uniquePrefix('budget-concurrency')
const redis = await connectRedisForFile(prefix)
let prefixCount = 0

const body = chatBody('smart', 'How much is this going to cost me?', { max_tokens: 50 })
const estimate = estimateTokens('chat', body, 'smart')
// $1000 per million tokens: one token is $0.001, so a call's estimate is (prompt + 50) tenths of a cent.
const price = { input_per_mtok: 1000, output_per_mtok: 1000 }
const estimateUsd = (estimate.prompt + 50) / 1000
const budgetUsd = 1
const calls = 200

async function twoReplicas(completionTokens: number, gate: Promise<void>) {
  const upstream = await startFakeUpstream(async (_req, res: ServerResponse) => {
    await gate
    const usage = openAIUsage({ prompt: estimate.prompt, completion: completionTokens, cachedPrompt: 0 })
    sendJson(res, 200, completionBody('ok', 'house', { usage }))
  })
  const budget = { amount_usd: budgetUsd, period: 'daily' }
  const config = spendConfig(upstream, {
    keys: [configKey('team-a', { budget })],
    models: [pricedModel('smart', 'house', price)],
    store: { type: 'redis', url: testRedisUrl, key_prefix: `${prefix}${++prefixCount}:` },
  })
  const replicas = [
    await buildSpendApp(config, { listen: true }),
    await buildSpendApp(config, { listen: true }),
  ]
  const principal = { kind: 'virtual', id: 'cfg-team-a', name: 'team-a', budget } as Principal
  return { upstream, replicas, status: () => replicas[0]!.app.spend.budgetStatus(principal) }
}

async function fire(origins: string[], onRefused: () => void) {
  return Promise.all(
    Array.from({ length: calls }, async (_, i) => {
      const response = await request(`${origins[i % origins.length]}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...bearer('team-a'), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const answer = (await response.body.json()) as { error?: { code: string } }
      if (response.statusCode === 429) onRefused()
      return { status: response.statusCode, code: answer.error?.code }
    }),
  )
}

describe.skipIf(!redis)('a budget shared by two replicas on Redis', () => {
  it('admits exactly what fits out of 200 concurrent calls when calls cost their estimate', async () => {
    const { replicas, upstream, status } = await twoReplicas(50, Promise.resolve())
    const results = await fire(
      replicas.map((r) => r.origin),
      () => {},
    )
    await Promise.all(replicas.map((r) => r.app.spend.flush()))
    const admitted = results.filter((r) => r.status === 200).length
    const fits = Math.floor(budgetUsd / estimateUsd)
    expect(admitted).toBe(fits)
    expect(results.filter((r) => r.status === 429).every((r) => r.code === 'budget_exceeded')).toBe(true)
    expect(admitted + results.filter((r) => r.status === 429).length).toBe(calls)
    expect(upstream.requests).toHaveLength(fits)
    const final = await status()
    expect(final?.reserved_usd).toBe(0)
    expect(final?.spent_usd).toBeCloseTo(fits * estimateUsd, 9)
    expect(final!.spent_usd).toBeLessThanOrEqual(budgetUsd)
  })

  it('overshoots by no more than the in-flight reservations’ error when calls cost more', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    // Each call reports 100 completion tokens against the 50 it reserved: $0.05 more than estimated.
    const { replicas, upstream, status } = await twoReplicas(100, gate)
    let refused = 0
    const fits = Math.floor(budgetUsd / estimateUsd)
    const done = fire(
      replicas.map((r) => r.origin),
      () => {
        refused++
        // Every call has been admitted or refused: the admitted ones are all in flight now.
        if (refused === calls - fits) release()
      },
    )
    const results = await done
    await Promise.all(replicas.map((r) => r.app.spend.flush()))
    const admitted = results.filter((r) => r.status === 200).length
    expect(admitted).toBe(fits)
    expect(upstream.requests).toHaveLength(fits)
    const actualUsd = (estimate.prompt + 100) / 1000
    const final = await status()
    expect(final?.spent_usd).toBeCloseTo(admitted * actualUsd, 9)
    expect(final!.spent_usd).toBeLessThanOrEqual(budgetUsd + admitted * (actualUsd - estimateUsd) + 1e-9)
    expect(final!.spent_usd).toBeGreaterThan(budgetUsd)
    // Spent beyond the budget: every later call is refused on either replica.
    const after = await request(`${replicas[1]!.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...bearer('team-a'), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(after.statusCode).toBe(429)
    await after.body.dump()
  })
})
