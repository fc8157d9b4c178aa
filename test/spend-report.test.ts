// GET /admin/spend over real calls, on the memory store and on the real Redis: totals per model, key
// and UTC day, date ranges and filters, its defaults, bad input as OpenAI-shaped 400s, the master
// key only, and no secret in the answer or the logs.
import { describe, expect, it } from 'vitest'
import { dayMs, utcDay } from '../plugins/spend/periods.js'
import { chatBody } from './helpers/app.js'
import { uniquePrefix } from './helpers/redis.js'
import { connectRedisForFile, storeKinds } from './helpers/state-stores.js'
import {
  bearer,
  buildSpendApp,
  configKey,
  manualClock,
  masterAuth,
  masterKey,
  pricedModel,
  spendConfig,
  startUsageUpstream,
} from './spend-helpers.js'

const prefix = uniquePrefix('spend-report')
const redis = await connectRedisForFile(prefix)

/** Two days of calls: a chat call costs $0.002 (1000 + 1000 tokens at $1 per million), embeddings $0.001. */
async function appWithSpend(store: Record<string, unknown>) {
  const upstream = await startUsageUpstream((req) =>
    req.url.endsWith('/embeddings')
      ? { prompt: 1000, completion: 0, cachedPrompt: 0 }
      : { prompt: 1000, completion: 1000, cachedPrompt: 0 },
  )
  const clock = manualClock()
  const built = await buildSpendApp(
    spendConfig(upstream, {
      keys: [configKey('team-a'), configKey('team-b')],
      models: [pricedModel('smart', 'house-chat'), pricedModel('embed', 'house-embed')],
      store,
    }),
    { now: clock.now },
  )
  const { app } = built
  const chat = (key: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: bearer(key),
      payload: chatBody('smart'),
    })
  const embed = (key: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      headers: bearer(key),
      payload: { model: 'embed', input: 'x' },
    })
  const day0 = utcDay(clock.now())
  await chat('team-a')
  await chat('team-a')
  await embed('team-b')
  clock.set(clock.now() - (clock.now() % dayMs) + dayMs + 1000)
  const day1 = utcDay(clock.now())
  await chat('team-a')
  await app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: masterAuth,
    payload: chatBody('smart'),
  })
  await app.spend.flush()
  const report = async (query: string, headers: Record<string, string> = masterAuth) =>
    app.inject({ method: 'GET', url: `/admin/spend${query}`, headers })
  return { ...built, clock, day0, day1, report }
}

describe.each(storeKinds(redis, prefix))('GET /admin/spend on the $name store', ({ available, store }) => {
  const it_ = available ? it : it.skip

  it_('groups by model, key and day, with totals', async () => {
    const { report, day0, day1 } = await appWithSpend(store())
    const range = `from=${day0}&to=${day1}`

    const byModel = await report(`?${range}&group_by=model`)
    expect(byModel.statusCode).toBe(200)
    expect(byModel.json()).toEqual({
      object: 'spend.report',
      from: day0,
      to: day1,
      group_by: 'model',
      currency: 'USD',
      data: [
        { group: 'smart', requests: 4, prompt_tokens: 4000, completion_tokens: 4000, cost_usd: 0.008 },
        { group: 'embed', requests: 1, prompt_tokens: 1000, completion_tokens: 0, cost_usd: 0.001 },
      ],
      total: { requests: 5, prompt_tokens: 5000, completion_tokens: 4000, cost_usd: 0.009 },
    })

    const byKey = await report(`?${range}&group_by=key`)
    expect(byKey.json().data).toEqual([
      {
        group: 'cfg-team-a',
        key_name: 'team-a',
        requests: 3,
        prompt_tokens: 3000,
        completion_tokens: 3000,
        cost_usd: 0.006,
      },
      {
        group: 'master',
        key_name: 'master',
        requests: 1,
        prompt_tokens: 1000,
        completion_tokens: 1000,
        cost_usd: 0.002,
      },
      {
        group: 'cfg-team-b',
        key_name: 'team-b',
        requests: 1,
        prompt_tokens: 1000,
        completion_tokens: 0,
        cost_usd: 0.001,
      },
    ])

    const byDay = await report(`?${range}&group_by=day`)
    expect(
      byDay.json().data.map((row: { group: string; cost_usd: number }) => [row.group, row.cost_usd]),
    ).toEqual([
      [day0, 0.005],
      [day1, 0.004],
    ])
  })

  it_('filters by key, model and range', async () => {
    const { report, day0, day1 } = await appWithSpend(store())
    const keyOnly = await report(`?from=${day0}&to=${day1}&key=cfg-team-a&group_by=day`)
    expect(
      keyOnly.json().data.map((row: { group: string; requests: number }) => [row.group, row.requests]),
    ).toEqual([
      [day0, 2],
      [day1, 1],
    ])
    const modelOnly = await report(`?from=${day0}&to=${day1}&model=embed&group_by=key`)
    expect(modelOnly.json().data.map((row: { group: string }) => row.group)).toEqual(['cfg-team-b'])
    const secondDay = await report(`?from=${day1}&to=${day1}`)
    expect(secondDay.json().total).toEqual({
      requests: 2,
      prompt_tokens: 2000,
      completion_tokens: 2000,
      cost_usd: 0.004,
    })
    const nobody = await report(`?from=${day0}&to=${day1}&key=cfg-nobody`)
    expect(nobody.json()).toMatchObject({
      data: [],
      total: { requests: 0, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
    })
  })
})

describe('GET /admin/spend defaults, input and access', () => {
  it('reports from the first of the month to today by model when nothing is asked', async () => {
    const { report, day1 } = await appWithSpend({ type: 'memory' })
    const answer = await report('')
    expect(answer.json()).toMatchObject({ from: `${day1.slice(0, 8)}01`, to: day1, group_by: 'model' })
    const untilDay1 = await report(`?to=${day1}`)
    expect(untilDay1.json().from).toBe(`${day1.slice(0, 8)}01`)
  })

  it.each([
    ['?from=2026-02-30', 400, 'invalid_value', 'from'],
    ['?to=yesterday', 400, 'invalid_value', 'to'],
    ['?from=2026-03-10&to=2026-03-09', 400, 'invalid_value', 'from'],
    ['?from=2024-01-01&to=2026-01-01', 400, 'invalid_value', 'from'],
    ['?group_by=week', 400, 'invalid_value', 'group_by'],
    ['?colour=blue', 400, 'unknown_parameter', 'colour'],
  ])('refuses %s with %i %s', async (query, status, code, param) => {
    const { report } = await appWithSpend({ type: 'memory' })
    const answer = await report(query)
    expect(answer.statusCode).toBe(status)
    expect(answer.json()).toEqual({
      error: { message: expect.any(String), type: 'invalid_request_error', code, param },
    })
  })

  it('needs the master key', async () => {
    const { report } = await appWithSpend({ type: 'memory' })
    expect((await report('', {})).statusCode).toBe(401)
    expect((await report('', bearer('team-a'))).statusCode).toBe(403)
  })

  it('shows and logs no secret', async () => {
    const { report, rawLogs } = await appWithSpend({ type: 'memory' })
    const answer = await report('?group_by=key')
    for (const secret of ['sk-upstream-secret-value', 'sk-test-team-a-0123456789abcdef', masterKey]) {
      expect(answer.body).not.toContain(secret)
      expect(rawLogs.join('')).not.toContain(secret)
    }
  })
})
