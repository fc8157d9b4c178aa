// Two gateways sharing one Redis behave as one: under 200 concurrent requests split between them,
// each limit admits exactly its size, never one more.
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { testRedisUrl } from './helpers/redis.js'
import { connectRedisForFile } from './helpers/state-stores.js'
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

const redis = await connectRedisForFile(limitsTestPrefix)

let replicaSet = 0

async function twoReplicas(options: Parameters<typeof limitsConfig>[2]) {
  const upstream = await startControlledUpstream()
  // One wall clock for both, inside one minute: the test is about concurrency, not the window edge.
  const clock = manualClock()
  const store = {
    type: 'redis',
    url: testRedisUrl,
    key_prefix: `${limitsTestPrefix}replicas-${++replicaSet}:`,
  }
  const replicas = [
    await startGateway(limitsConfig(upstream, store, options), clock),
    await startGateway(limitsConfig(upstream, store, options), clock),
  ]
  return { upstream, replicas }
}

/** 200 chat calls at once, alternating between the replicas: `answered` counts those already back. */
function burst(replicas: Gateway[], body: Record<string, unknown>, headers?: Record<string, string>) {
  const progress = { answered: 0 }
  const statuses = Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      postChat(replicas[i % 2]!, body, headers).then(({ status }) => {
        progress.answered++
        return status
      }),
    ),
  ).then((all) => {
    const counts = new Map<number, number>()
    for (const status of all) counts.set(status, (counts.get(status) ?? 0) + 1)
    return Object.fromEntries(counts)
  })
  return { statuses, progress }
}

describe.runIf(redis)('two replicas on one Redis, 200 concurrent requests', () => {
  it("a key's rpm admits exactly its limit", async () => {
    const { upstream, replicas } = await twoReplicas({ keyLimits: { rpm: 37 } })
    expect(await burst(replicas, chatRequest()).statuses).toEqual({ 200: 37, 429: 163 })
    expect(upstream.requests).toHaveLength(37)
  })

  it('global_rpm (@fastify/rate-limit on Redis) admits exactly its limit', async () => {
    const { upstream, replicas } = await twoReplicas({ open: true, limits: { global_rpm: 41 } })
    expect(await burst(replicas, chatRequest(), {}).statuses).toEqual({ 200: 41, 429: 159 })
    expect(upstream.requests).toHaveLength(41)
  })

  it("a key's tpm admits exactly the reservations that fit", async () => {
    const { upstream, replicas } = await twoReplicas({ keyLimits: { tpm: 1000 } })
    // Held, so no call settles (and frees tokens) before every request was decided.
    upstream.hold()
    onTestFinished(() => upstream.release())
    // 9 prompt tokens + 41 = 50 reserved per call: 20 fit in 1000.
    const { statuses, progress } = burst(replicas, chatRequest({ max_tokens: 41 }))
    await vi.waitFor(() => expect(progress.answered).toBe(180), { timeout: 10_000 })
    expect(upstream.requests).toHaveLength(20)
    upstream.release()
    expect(await statuses).toEqual({ 200: 20, 429: 180 })
  })

  it('max_parallel admits exactly its slots', async () => {
    const { upstream, replicas } = await twoReplicas({ keyLimits: { max_parallel: 13 } })
    upstream.hold()
    onTestFinished(() => upstream.release())
    const { statuses, progress } = burst(replicas, chatRequest())
    await vi.waitFor(() => expect(progress.answered).toBe(187), { timeout: 10_000 })
    expect(upstream.requests).toHaveLength(13)
    upstream.release()
    expect(await statuses).toEqual({ 200: 13, 429: 187 })
    for (const { app } of replicas) {
      await vi.waitFor(async () => expect(await app.requestLimits!.parallel.inFlight('cfg-team-a')).toBe(0))
    }
  })
})
