// Key budgets through the gateway, on the memory store and on the real Redis: a call is refused with
// 429 budget_exceeded (OpenAI shape, the key's name and the period's reset time in the message)
// once what it may cost no longer fits; periods reset at UTC day, ISO week and month boundaries,
// a total budget never; a cache hit, a failed call and keys without a budget reserve nothing.
import { describe, expect, it } from 'vitest'
import type { Principal } from '../plugins/principal.js'
import { type BudgetWindow, budgetWindow } from '../plugins/spend/periods.js'
import { chatBody } from './helpers/app.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile, storeKinds } from './helpers/state-stores.js'
import {
  bearer,
  buildSpendApp,
  configKey,
  manualClock,
  masterAuth,
  pricedModel,
  spendConfig,
  startUsageUpstream,
} from './spend-helpers.js'

const prefix = uniquePrefix('budget-enforcement')
const redis = await connectRedisForFile(prefix)

// Every call costs $0.002: the upstream reports 1000 prompt and 1000 completion tokens, priced at $1
// per million each. A request with max_tokens 1000 is estimated at a little over $0.001.
const callUsage = { prompt: 1000, completion: 1000, cachedPrompt: 0 }
const ask = (content = 'hello there') => chatBody('smart', content, { max_tokens: 1000 })

async function budgetApp(
  store: Record<string, unknown>,
  budget: { amount_usd: number; period: string },
  extra: Record<string, unknown> = {},
) {
  const upstream = await startUsageUpstream(() => callUsage)
  const clock = manualClock()
  const built = await buildSpendApp(
    spendConfig(upstream, {
      keys: [configKey('team-a', { budget }), configKey('free')],
      models: [pricedModel('smart', 'house-model')],
      store,
      ...extra,
    }),
    { now: clock.now },
  )
  const call = async (headers = bearer('team-a'), payload: Record<string, unknown> = ask()) => {
    const response = await built.app.inject({ method: 'POST', url: '/v1/chat/completions', headers, payload })
    await built.app.spend.flush()
    return response
  }
  const principal: Principal = { kind: 'virtual', id: 'cfg-team-a', name: 'team-a', budget } as Principal
  return { ...built, upstream, clock, call, status: () => built.app.spend.budgetStatus(principal) }
}

describe.each(storeKinds(redis, prefix))('budgets on the $name store', ({ available, store }) => {
  const it_ = available ? it : it.skip

  it_('refuses the call that no longer fits, in the OpenAI shape, naming the key and the reset', async () => {
    const { call, clock, upstream } = await budgetApp(store(), { amount_usd: 0.005, period: 'daily' })
    expect((await call()).statusCode).toBe(200)
    expect((await call()).statusCode).toBe(200)
    const refused = await call()
    expect(refused.statusCode).toBe(429)
    const reset = budgetWindow('daily', clock.now()).resetsAt!
    expect(refused.json()).toEqual({
      error: {
        message: expect.stringContaining('Budget exceeded for key "team-a"'),
        type: 'insufficient_quota',
        param: null,
        code: 'budget_exceeded',
      },
    })
    const message: string = refused.json().error.message
    expect(message).toContain('$0.004 of its $0.005 daily budget is spent')
    expect(message).toContain(`The budget resets at ${new Date(reset).toISOString()}.`)
    expect(refused.headers['retry-after']).toBe(String((reset - clock.now()) / 1000))
    expect(refused.headers['x-should-retry']).toBe('false')
    expect(upstream.requests).toHaveLength(2)
  })

  it_('lets a key without a budget and the master key through', async () => {
    const { call, upstream } = await budgetApp(store(), { amount_usd: 0, period: 'daily' })
    expect((await call()).statusCode).toBe(429)
    expect((await call(bearer('free'))).statusCode).toBe(200)
    expect((await call(masterAuth)).statusCode).toBe(200)
    expect(upstream.requests).toHaveLength(2)
  })

  it_('releases the reservation of a failed call and charges nothing for it', async () => {
    const { call, status, upstream } = await budgetApp(store(), { amount_usd: 1, period: 'monthly' })
    upstream.requests.length = 0
    const failing = await call(bearer('team-a'), chatBody('up/error-model', 'x', { max_tokens: 10 }))
    expect(failing.statusCode).toBe(200)
    expect(await status()).toMatchObject({ spent_usd: 0, reserved_usd: 0 })
    expect((await call()).statusCode).toBe(200)
    expect(await status()).toMatchObject({
      spent_usd: 0.002,
      reserved_usd: 0,
      budget_usd: 1,
      period: 'monthly',
    })
  })

  it_('counts embeddings at their input only', async () => {
    const { app, status } = await budgetApp(
      store(),
      { amount_usd: 1, period: 'daily' },
      {
        models: [pricedModel('smart', 'house-model'), pricedModel('embed', 'house-embed')],
      },
    )
    const response = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: bearer('team-a'),
      payload: { model: 'embed', input: 'some text' },
    })
    await app.spend.flush()
    expect(response.statusCode).toBe(200)
    expect(await status()).toMatchObject({ spent_usd: 0.001, reserved_usd: 0 })
  })

  it_('answers /v1/messages refusals in the Anthropic shape too', async () => {
    const { app, call } = await budgetApp(store(), { amount_usd: 0.002, period: 'weekly' })
    expect((await call()).statusCode).toBe(200)
    const refused = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: bearer('team-a'),
      payload: { model: 'smart', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(refused.statusCode).toBe(429)
    expect(refused.json()).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error', code: 'budget_exceeded' },
    })
  })
})

describe('budget periods (memory store, injected clock)', () => {
  const boundaries: { period: string; window: (now: number) => BudgetWindow }[] = [
    { period: 'daily', window: (now) => budgetWindow('daily', now) },
    { period: 'weekly', window: (now) => budgetWindow('weekly', now) },
    { period: 'monthly', window: (now) => budgetWindow('monthly', now) },
  ]

  it.each(boundaries)(
    'a $period budget refuses until the period ends, then admits again',
    async ({ period, window }) => {
      const { call, clock } = await budgetApp({ type: 'memory' }, { amount_usd: 0.002, period })
      expect((await call()).statusCode).toBe(200)
      const resetsAt = window(clock.now()).resetsAt!
      clock.set(resetsAt - 1)
      expect((await call()).statusCode).toBe(429)
      clock.set(resetsAt)
      expect((await call()).statusCode).toBe(200)
      expect((await call()).statusCode).toBe(429)
    },
  )

  it('resets weekly budgets on Monday 00:00 UTC and monthly ones on the 1st', () => {
    // Wednesday 2026-03-18 10:00 UTC.
    const wednesday = Date.UTC(2026, 2, 18, 10)
    expect(budgetWindow('weekly', wednesday)).toEqual({
      period: 'weekly',
      id: 'w2026-03-16',
      resetsAt: Date.UTC(2026, 2, 23),
    })
    expect(budgetWindow('weekly', Date.UTC(2026, 2, 22, 23, 59))).toMatchObject({ id: 'w2026-03-16' })
    expect(budgetWindow('weekly', Date.UTC(2026, 2, 23))).toMatchObject({ id: 'w2026-03-23' })
    expect(budgetWindow('monthly', Date.UTC(2026, 11, 31, 23))).toEqual({
      period: 'monthly',
      id: 'm2026-12',
      resetsAt: Date.UTC(2027, 0, 1),
    })
    expect(budgetWindow('daily', Date.UTC(2028, 1, 28, 12))).toMatchObject({
      resetsAt: Date.UTC(2028, 1, 29),
    })
    expect(budgetWindow('total', wednesday)).toEqual({ period: 'total', id: 'total', resetsAt: null })
  })

  it('never resets a total budget, and says so', async () => {
    const { call, clock } = await budgetApp({ type: 'memory' }, { amount_usd: 0.002, period: 'total' })
    expect((await call()).statusCode).toBe(200)
    clock.advance(400 * 86_400_000)
    const refused = await call()
    expect(refused.statusCode).toBe(429)
    expect(refused.json().error.message).toContain('It is a total budget and does not reset')
    expect(refused.headers['retry-after']).toBeUndefined()
  })
})

describe('what never reserves', () => {
  it('a cache hit is served even when the budget is spent', async () => {
    const { call, upstream } = await budgetApp(
      { type: 'memory' },
      { amount_usd: 0.002, period: 'daily' },
      { cache: { enabled: true } },
    )
    const cached = chatBody('smart', 'same question', { max_tokens: 1000, temperature: 0 })
    expect((await call(bearer('team-a'), cached)).headers['x-anygate-cache']).toBe('MISS')
    const hit = await call(bearer('team-a'), cached)
    expect([hit.statusCode, hit.headers['x-anygate-cache']]).toEqual([200, 'HIT'])
    expect((await call(bearer('team-a'), ask('another question'))).statusCode).toBe(429)
    expect(upstream.requests).toHaveLength(1)
  })
})

describe('when the budget store fails', () => {
  const downRedis = { type: 'redis', url: 'redis://127.0.0.1:1', key_prefix: 'never:' }

  it('on_error deny refuses a budgeted call with 503 before it reaches the router', async () => {
    const { call } = await budgetApp({ ...downRedis, on_error: 'deny' }, { amount_usd: 1, period: 'daily' })
    const refused = await call()
    expect(refused.statusCode).toBe(503)
    expect(refused.json().error).toMatchObject({
      message: expect.stringContaining('The budget store is unavailable'),
      code: 'store_unavailable',
      type: 'service_unavailable',
    })
  })

  it('on_error allow serves the call, warns, and logs the settlement it could not write', async () => {
    const { call, logs } = await budgetApp(
      { ...downRedis, on_error: 'allow' },
      { amount_usd: 1, period: 'daily' },
    )
    expect((await call()).statusCode).toBe(200)
    expect(logs.some((line) => line.store === 'budget' && line.on_error === 'allow')).toBe(true)
    const lost = logs.find((line) => String(line.msg).startsWith('budget settlement lost'))
    expect(lost).toMatchObject({
      level: 50,
      budget: { scope: expect.stringContaining('cfg-team-a:d'), cost_usd: 0.002 },
    })
  })
})
