// per_ip_rpm behind a load balancer: with server.trust_proxy the client address comes from
// X-Forwarded-For, so callers behind one proxy get a window each; without it they share the proxy's.
import { describe, expect, it } from 'vitest'
import {
  chatRequest,
  limitsConfig,
  postChat,
  startControlledUpstream,
  startGateway,
} from './limits-helpers.js'

const memory = { type: 'memory' }

async function gatewayTrusting(trustProxy: unknown) {
  const upstream = await startControlledUpstream()
  const config = limitsConfig(upstream, memory, { open: true, limits: { per_ip_rpm: 1 } })
  return startGateway({ ...config, server: { trust_proxy: trustProxy } })
}

const from = (ip: string) => ({ 'x-forwarded-for': ip })

describe('per_ip_rpm and server.trust_proxy', () => {
  it('trust_proxy: true keys the window by the forwarded client address', async () => {
    const gateway = await gatewayTrusting(true)
    expect((await postChat(gateway, chatRequest(), from('203.0.113.7'))).status).toBe(200)
    expect((await postChat(gateway, chatRequest(), from('203.0.113.8'))).status).toBe(200)
    expect((await postChat(gateway, chatRequest(), from('203.0.113.7'))).status).toBe(429)
  })

  it('a hop count trusts that many proxies', async () => {
    const gateway = await gatewayTrusting(1)
    // One trusted hop: the address the proxy appended (the last one) is the client's.
    expect((await postChat(gateway, chatRequest(), from('198.51.100.1, 203.0.113.9'))).status).toBe(200)
    expect((await postChat(gateway, chatRequest(), from('198.51.100.2, 203.0.113.10'))).status).toBe(200)
    expect((await postChat(gateway, chatRequest(), from('198.51.100.3, 203.0.113.9'))).status).toBe(429)
  })

  it('untrusted by default: a client cannot dodge the limit with a forged header', async () => {
    const gateway = await gatewayTrusting(false)
    expect((await postChat(gateway, chatRequest(), from('203.0.113.7'))).status).toBe(200)
    expect((await postChat(gateway, chatRequest(), from('203.0.113.8'))).status).toBe(429)
  })
})

describe('browser clients', () => {
  it('can read the rate-limit and routing headers (CORS exposes them)', async () => {
    const upstream = await startControlledUpstream()
    const gateway = await startGateway(
      limitsConfig(upstream, memory, { open: true, limits: { global_rpm: 5 } }),
    )
    const res = await postChat(gateway, chatRequest(), { origin: 'https://app.example' })
    expect(res.status).toBe(200)
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/)
    for (const header of [
      'x-ratelimit-remaining-requests',
      'x-ratelimit-reset-tokens',
      'retry-after',
      'x-anygate-fallback',
      'x-request-id',
    ]) {
      expect(exposed).toContain(header)
    }
  })
})
