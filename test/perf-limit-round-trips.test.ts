// The limits asked at once (issue #5), on the memory store and on the real Redis: the request
// limits (rpm windows, global_rpm/per_ip_rpm, max_parallel, max_streams_per_key) in one round trip,
// tpm alongside the budget in another; whatever one check took is given back when another refuses.
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import type { Principal } from '../plugins/principal.js'
import { estimateTokens } from '../plugins/tokens/estimate.js'
import { connectRedisForFile, storeKinds } from './helpers/state-stores.js'
import {
  chatRequest,
  type Gateway,
  limitsConfig,
  limitsTestPrefix,
  manualClock,
  postChat,
  startControlledUpstream,
  startGateway,
} from './limits-helpers.js'

const prefix = `${limitsTestPrefix}perf:`
const redis = await connectRedisForFile(prefix)

const keyId = 'cfg-team-a'
const promptEstimate = estimateTokens('chat', chatRequest(), 'gpt-4o').prompt
const budget = (amount_usd: number) => ({ amount_usd, period: 'total' })
const pricedModels = [
  {
    name: 'svc',
    targets: [{ provider: 'openai', model: 'gpt-4o', price: { input_per_mtok: 1, output_per_mtok: 1 } }],
  },
]

const inFlight = (gateway: Gateway, key: string) => gateway.app.requestLimits!.parallel.inFlight(key)

/** Tokens the key's tpm window holds this minute (a take of 0 reads without counting). */
async function tokensHeld(gateway: Gateway): Promise<number> {
  const taken = await gateway.app.tokenLimits!.windows.take([
    { key: `tpm:key:${keyId}`, limit: Number.MAX_SAFE_INTEGER, amount: 0 },
  ])
  return taken.counts[0]!.current
}

describe.each(storeKinds(redis, prefix))('$name store', ({ available, store }) => {
  const it_ = available ? it : it.skip

  it_('gives back the slots a request took alongside the rpm check that refused it', async () => {
    const upstream = await startControlledUpstream()
    const config = limitsConfig(upstream, store(), {
      keyLimits: { rpm: 1, max_parallel: 3 },
      limits: { max_streams_per_key: 2 },
    })
    const gateway = await startGateway(config, manualClock())
    expect((await postChat(gateway, chatRequest())).status).toBe(200)

    const refused = await postChat(gateway, chatRequest({ stream: true }))
    expect(refused.status).toBe(429)
    expect(refused.json().error.code).toBe('rate_limit_exceeded')
    await vi.waitFor(async () => {
      expect(await inFlight(gateway, keyId)).toBe(0)
      expect(await inFlight(gateway, `stream:key:${keyId}`)).toBe(0)
    })
    expect(upstream.requests).toHaveLength(1)
  })

  it_('gives back the stream slot taken alongside the max_parallel slot that was refused', async () => {
    const upstream = await startControlledUpstream()
    upstream.hold()
    onTestFinished(() => upstream.release())
    const config = limitsConfig(upstream, store(), {
      keyLimits: { max_parallel: 1 },
      limits: { max_streams_per_key: 5 },
    })
    const gateway = await startGateway(config)
    const held = postChat(gateway, chatRequest({ stream: true }))
    await vi.waitFor(() => expect(upstream.requests).toHaveLength(1))

    const refused = await postChat(gateway, chatRequest({ stream: true }))
    expect(refused.status).toBe(429)
    expect(refused.json().error.code).toBe('max_parallel_exceeded')
    await vi.waitFor(async () => expect(await inFlight(gateway, `stream:key:${keyId}`)).toBe(1))

    upstream.release()
    expect((await held).status).toBe(200)
    await vi.waitFor(async () => expect(await inFlight(gateway, `stream:key:${keyId}`)).toBe(0))
  })

  it_('gives back the tokens reserved alongside a budget that refused the call', async () => {
    const upstream = await startControlledUpstream()
    const config = {
      ...limitsConfig(upstream, store(), { keyLimits: { tpm: 1_000_000, budget: budget(0.000_000_001) } }),
      models: pricedModels,
    }
    const gateway = await startGateway(config, manualClock())
    const refused = await postChat(gateway, chatRequest())
    expect(refused.status).toBe(429)
    expect(refused.json().error.code).toBe('budget_exceeded')
    await vi.waitFor(async () => expect(await tokensHeld(gateway)).toBe(0))
    expect(upstream.requests).toHaveLength(0)
  })

  it_('releases the budget hold taken alongside a tpm take that refused the call', async () => {
    const upstream = await startControlledUpstream()
    upstream.hold()
    onTestFinished(() => upstream.release())
    const keyBudget = budget(100)
    const config = {
      ...limitsConfig(upstream, store(), { keyLimits: { tpm: 2 * promptEstimate - 1, budget: keyBudget } }),
      models: pricedModels,
    }
    const gateway = await startGateway(config, manualClock())
    const principal = { kind: 'virtual', id: keyId, name: 'team-a', budget: keyBudget } as Principal
    const held = postChat(gateway, chatRequest())
    await vi.waitFor(() => expect(upstream.requests).toHaveLength(1))
    const reservedByOne = (await gateway.app.spend.budgetStatus(principal))!.reserved_usd
    expect(reservedByOne).toBeGreaterThan(0)

    const refused = await postChat(gateway, chatRequest())
    expect(refused.status).toBe(429)
    expect(refused.json().error.code).toBe('tokens_exceeded')
    await gateway.app.spend.flush()
    expect((await gateway.app.spend.budgetStatus(principal))!.reserved_usd).toBe(reservedByOne)

    upstream.release()
    expect((await held).status).toBe(200)
  })
})
