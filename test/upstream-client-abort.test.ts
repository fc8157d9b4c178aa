// The upstream client's aborts and its body reader (upstream-body.ts), against real HTTP servers:
// the total timeout, the client's abort, a body cut short, the size limit, and the text kept for a
// pass-through answer.
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { ClientAbortError, GatewayError } from '../plugins/gateway-error.js'
import { rawJsonOf } from '../providers/shared/raw-json.js'
import { readText, UpstreamClient } from '../providers/shared/upstream-client.js'
import { startFakeUpstream } from './helpers/fake-upstream.js'

function clientFor(url: string, totalMs = 60_000) {
  return new UpstreamClient({
    provider: 'up',
    baseUrl: url,
    timeouts: { connect_ms: 5_000, first_byte_ms: 60_000, total_ms: totalMs },
    maxConnections: 4,
    headers: {},
  })
}

const refuse = (refusal: { status: number }) => new Error(`refused ${refusal.status}`)

describe('UpstreamClient aborts', () => {
  it('fails a call the upstream never answers with the total timeout', async () => {
    const upstream = await startFakeUpstream(async () => {
      await sleep(5_000)
    })
    const client = clientFor(upstream.url, 150)
    try {
      const call = client.post('/chat', '{}', new AbortController().signal, 'application/json', refuse)
      await expect(call).rejects.toMatchObject({ statusCode: 504, code: 'upstream_timeout' })
      await expect(call).rejects.toBeInstanceOf(GatewayError)
    } finally {
      await client.close()
    }
  })

  it("stops the call when the client's signal aborts, and says the client left", async () => {
    const upstream = await startFakeUpstream(async () => {
      await sleep(5_000)
    })
    const client = clientFor(upstream.url)
    const controller = new AbortController()
    try {
      const call = client.post('/chat', '{}', controller.signal, 'application/json', refuse)
      await sleep(50)
      controller.abort()
      await expect(call).rejects.toBeInstanceOf(ClientAbortError)
      await expect.poll(() => upstream.requests[0]?.aborted).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('times out a body that stalls after the headers', async () => {
    const upstream = await startFakeUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"choices":')
      await sleep(5_000)
    })
    const client = clientFor(upstream.url, 200)
    try {
      const call = await client.post('/chat', '{}', new AbortController().signal, 'application/json', refuse)
      await expect(client.readJson(call)).rejects.toMatchObject({ code: 'upstream_timeout' })
    } finally {
      await client.close()
    }
  })
})

describe('reading bodies', () => {
  it('maps a body the upstream cuts short to an unreachable upstream', async () => {
    const upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"choices":')
      setTimeout(() => res.socket?.destroy(), 20)
    })
    const client = clientFor(upstream.url)
    try {
      const call = await client.post('/chat', '{}', new AbortController().signal, 'application/json', refuse)
      await expect(client.readJson(call)).rejects.toMatchObject({
        statusCode: 502,
        code: 'upstream_unreachable',
      })
    } finally {
      await client.close()
    }
  })

  it('keeps at most the limit, and the text of a pass-through answer', async () => {
    const text = JSON.stringify({ choices: [], note: 'x'.repeat(300) })
    const upstream = await startFakeUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write(text.slice(0, 100))
      setTimeout(() => res.end(text.slice(100)), 10)
    })
    const client = clientFor(upstream.url)
    try {
      const signal = new AbortController().signal
      const limited = await client.post('/chat', '{}', signal, 'application/json', refuse)
      expect(await readText(limited.response.body, 120)).toBe(text.slice(0, 120))

      const kept = await client.readJson<object>(
        await client.post('/chat', '{}', signal, 'application/json', refuse),
        true,
      )
      expect(rawJsonOf(kept)).toBe(text)
      const parsedOnly = await client.readJson<object>(
        await client.post('/chat', '{}', signal, 'application/json', refuse),
      )
      expect(rawJsonOf(parsedOnly)).toBeUndefined()
      expect(parsedOnly).toEqual(JSON.parse(text))
    } finally {
      await client.close()
    }
  })
})
