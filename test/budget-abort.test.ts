// A client that hangs up mid-stream: Fastify runs no onResponse hook then, so the spend plugin
// accounts for the call when the socket closes. The reservation is released (not held until it
// expires), and the call is charged what it reserved since its usage never came; a stream without
// a budget is still recorded in the spend report.
import { request } from 'undici'
import { expect, it } from 'vitest'
import type { Principal } from '../plugins/principal.js'
import { chatBody } from './helpers/app.js'
import { chunkBody, sseData, startFakeUpstream, startSse } from './helpers/fake-upstream.js'
import { bearer, buildSpendApp, configKey, masterAuth, pricedModel, spendConfig } from './spend-helpers.js'

async function cutStream(origin: string, headers: Record<string, string>) {
  const response = await request(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(chatBody('smart', 'hello', { stream: true, max_tokens: 100 })),
  })
  for await (const chunk of response.body) {
    expect(String(chunk)).toContain('Hel')
    break
  }
}

it('a stream the client cut before its usage releases its hold and is charged what it reserved', async () => {
  let ended = 0
  const upstream = await startFakeUpstream(async (req, res) => {
    startSse(res)
    res.write(sseData(chunkBody({ role: 'assistant', content: 'Hel' })))
    await req.ended
    ended++
  })
  const budget = { amount_usd: 1, period: 'daily' }
  const { app, origin } = await buildSpendApp(
    spendConfig(upstream, {
      keys: [configKey('team-a', { budget })],
      // $1000 per million tokens: 100 completion tokens alone reserve $0.10.
      models: [pricedModel('smart', 'house', { input_per_mtok: 1000, output_per_mtok: 1000 })],
    }),
    { listen: true },
  )
  const principal = { kind: 'virtual', id: 'cfg-team-a', name: 'team-a', budget } as Principal

  await cutStream(origin, bearer('team-a'))
  await cutStream(origin, masterAuth)
  await expect.poll(() => ended).toBe(2)
  await expect.poll(async () => (await app.spend.budgetStatus(principal))?.reserved_usd).toBe(0)
  await app.spend.flush()
  const status = await app.spend.budgetStatus(principal)
  expect(status?.spent_usd).toBeGreaterThan(0.1)

  const report = await app.inject({ method: 'GET', url: '/admin/spend?group_by=key', headers: masterAuth })
  expect(
    report.json().data.map((row: { group: string; requests: number }) => [row.group, row.requests]),
  ).toEqual([
    ['cfg-team-a', 1],
    ['master', 1],
  ])
})
