// Clients that go away at every stage: while uploading the body (nothing goes upstream), before the
// first byte and mid-stream (the upstream call is aborted within about a second). Either way every
// counter returns to zero, the next call is served, and a budgeted key is charged once per call.
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { describe, expect, it, vi } from 'vitest'
import type { Principal } from '../../plugins/principal.js'
import type { Gateway } from '../limits-helpers.js'
import {
  bearer,
  chatRequest,
  expectIdle,
  expectNextServed,
  type Fault,
  faultConfig,
  faultKeyId,
  healthy,
  postChat,
  resetMidBody,
  type SwitchableUpstream,
  slowHealthy,
  stallAfterHeaders,
  startFaultGateway,
  startSwitchableUpstream,
  streamThenWait,
} from './fault-kit.js'

/** How soon the gateway must let go of the upstream once its client left. */
const abortWithinMs = 1000

const messagesRequest = (extra: Record<string, unknown> = {}) => ({
  model: 'chat',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'hello' }],
  ...extra,
})

/** A request over its own socket, which the test destroys when it decides. */
function openRequest(origin: string, path: string, body: Record<string, unknown>) {
  const req = httpRequest(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer },
    agent: false,
  })
  // The hang-up is the point; its socket error is expected.
  req.on('error', () => {})
  const firstData = new Promise<string>((resolve) => {
    req.on('response', (res) => res.once('data', (chunk: Buffer) => resolve(chunk.toString('utf8'))))
  })
  req.end(JSON.stringify(body))
  return { firstData, hangUp: () => req.destroy() }
}

/** Sends the head and `sent` bytes of a body announced as longer, then destroys the socket. */
async function abandonUpload(gateway: Gateway, body: Record<string, unknown>, sent: number) {
  const { port } = new URL(gateway.origin)
  const text = JSON.stringify(body)
  const openBefore = await openConnections(gateway)
  const socket = connect(Number(port), '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(
    'POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n' +
      `authorization: ${bearer.authorization}\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n` +
      text.slice(0, sent),
  )
  // Let the gateway start on the request before the client vanishes.
  await new Promise((resolve) => setTimeout(resolve, 50))
  socket.destroy()
  // The gateway saw the connection go.
  await vi.waitFor(async () => expect(await openConnections(gateway)).toBe(openBefore))
}

const openConnections = (gateway: Gateway) =>
  new Promise<number>((resolve, reject) =>
    gateway.app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  )

/** The upstream saw its one request closed before the response ended, soon after `since`. */
async function expectUpstreamAborted(upstream: SwitchableUpstream, since: number) {
  const [recorded] = upstream.requests
  await recorded!.ended
  expect(recorded!.aborted).toBe(true)
  expect(performance.now() - since).toBeLessThan(abortWithinMs)
}

describe('a client that disconnects during the body upload', () => {
  it.each([
    { stage: 'after the headers', sent: 0 },
    { stage: 'halfway through the body', sent: 40 },
  ])('$stage: nothing goes upstream and the next call is served', async ({ sent }) => {
    const upstream = await startSwitchableUpstream()
    const gateway = await startFaultGateway(faultConfig({ a: upstream }))

    await abandonUpload(gateway, chatRequest({ stream: true }), sent)
    await abandonUpload(gateway, chatRequest(), sent)

    expect(upstream.requests).toHaveLength(0)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
    expect(upstream.requests).toHaveLength(2)
  })
})

const routes = [
  { route: 'chat completions', path: '/v1/chat/completions', body: chatRequest },
  { route: 'messages', path: '/v1/messages', body: messagesRequest },
]

describe.each(routes)('$route: a client that disconnects before the first byte', ({ path, body }) => {
  it.each([
    { mode: 'JSON, upstream still thinking', fault: slowHealthy(30_000), stream: false },
    { mode: 'stream, upstream still thinking', fault: slowHealthy(30_000), stream: true },
    { mode: 'stream, headers in but no event yet', fault: stallAfterHeaders(0), stream: true },
  ])('$mode: the upstream call is aborted', async ({ fault, stream }) => {
    const upstream = await startSwitchableUpstream()
    upstream.set(fault)
    const gateway = await startFaultGateway(
      faultConfig({ a: upstream }, { timeouts: { first_byte_ms: 30_000 } }),
    )

    const client = openRequest(gateway.origin, path, body(stream ? { stream: true } : {}))
    await vi.waitFor(() => expect(upstream.requests).toHaveLength(1))
    const hungUp = performance.now()
    client.hangUp()

    await expectUpstreamAborted(upstream, hungUp)
    // No retry for a client that left.
    expect(upstream.requests).toHaveLength(1)
    await expectIdle(gateway, ['a/m'])
    // A client that left says nothing about the upstream.
    expect(gateway.app.routerState.stats.snapshot('a/m').lastError).toBeNull()
    await expectNextServed(gateway, upstream)
  })
})

describe.each(routes)('$route: a client that disconnects mid-stream', ({ path, body }) => {
  it('the upstream connection closes within a second', async () => {
    const upstream = await startSwitchableUpstream()
    upstream.set(streamThenWait())
    const gateway = await startFaultGateway(
      faultConfig({ a: upstream }, { timeouts: { first_byte_ms: 30_000 } }),
    )

    const client = openRequest(gateway.origin, path, body({ stream: true }))
    expect(await client.firstData).toMatch(/^(event: message_start\n)?data: /)
    const hungUp = performance.now()
    client.hangUp()

    await expectUpstreamAborted(upstream, hungUp)
    expect(upstream.requests).toHaveLength(1)
    await expectIdle(gateway, ['a/m'])
    await expectNextServed(gateway, upstream)
  })
})

describe('spend under disconnects and faults', () => {
  const budget = { amount_usd: 100, period: 'daily' }
  const principal = { kind: 'virtual', id: faultKeyId, name: 'faults', budget } as Principal
  const masterKey = 'sk-master-faults-0123456789abcdef'
  // $1000 per million tokens both ways: the upstream's 7 + 3 tokens cost exactly $0.01.
  const price = { input_per_mtok: 1000, output_per_mtok: 1000 }

  async function budgetedGateway(upstream: SwitchableUpstream) {
    const base = faultConfig({ a: upstream }, { keyExtra: { budget }, timeouts: { first_byte_ms: 30_000 } })
    const models = base.models as { targets: Record<string, unknown>[] }[]
    for (const model of models) for (const target of model.targets) target.price = price
    const auth = base.auth as Record<string, unknown>
    return startFaultGateway({ ...base, auth: { ...auth, master_key: masterKey } })
  }

  const status = async (gateway: Gateway) => (await gateway.app.spend.budgetStatus(principal))!

  async function reportRow(gateway: Gateway) {
    await gateway.app.spend.flush()
    const res = await gateway.app.inject({
      method: 'GET',
      url: '/admin/spend?group_by=key',
      headers: { authorization: `Bearer ${masterKey}` },
    })
    const rows = res.json().data as { group: string; requests: number; prompt_tokens: number }[]
    return rows.find((row) => row.group === faultKeyId)
  }

  /** Runs `call` with the upstream doing `fault`; the budget is settled (nothing reserved) after. */
  async function step(
    gateway: Gateway,
    upstream: SwitchableUpstream,
    fault: Fault,
    call: () => Promise<void>,
  ) {
    upstream.set(fault)
    await call()
    await vi.waitFor(async () => expect((await status(gateway)).reserved_usd).toBe(0))
    await expectIdle(gateway, ['a/m'])
    return (await status(gateway)).spent_usd
  }

  it('every call is charged once: served in full, cut by the client, cut by the upstream, or never served', async () => {
    const upstream = await startSwitchableUpstream()
    const gateway = await budgetedGateway(upstream)
    let spent = 0
    let held = 0

    // Served in full: charged what the usage says.
    spent = await step(gateway, upstream, healthy(), async () => {
      expect((await postChat(gateway)).status).toBe(200)
      expect((await postChat(gateway, { stream: true })).status).toBe(200)
    })
    expect(spent).toBeCloseTo(0.02, 9)

    // Cut by the client mid-stream, before the usage came: charged what it reserved.
    spent = await step(gateway, upstream, streamThenWait(), async () => {
      const client = openRequest(gateway.origin, '/v1/chat/completions', chatRequest({ stream: true }))
      await client.firstData
      held = (await status(gateway)).reserved_usd
      expect(held).toBeGreaterThan(0)
      client.hangUp()
      await upstream.requests.at(-1)!.ended
    })
    expect(spent).toBeCloseTo(0.02 + held, 9)

    // Never served (the client left before the first byte, or during the upload): charged nothing.
    spent = await step(gateway, upstream, slowHealthy(30_000), async () => {
      for (const stream of [false, true]) {
        const before = upstream.requests.length
        const client = openRequest(gateway.origin, '/v1/chat/completions', chatRequest({ stream }))
        await vi.waitFor(() => expect(upstream.requests).toHaveLength(before + 1))
        client.hangUp()
        await upstream.requests.at(-1)!.ended
      }
      await abandonUpload(gateway, chatRequest({ stream: true }), 20)
    })
    expect(spent).toBeCloseTo(0.02 + held, 9)

    // Cut by the upstream after the first byte, before the usage: charged what it reserved, once.
    spent = await step(gateway, upstream, resetMidBody(2), async () => {
      const answer = await postChat(gateway, { stream: true })
      expect(answer.text).toContain('"code":"upstream_unreachable"')
    })
    expect(spent).toBeCloseTo(0.02 + 2 * held, 9)

    // The report counts each served call once, with the tokens of the two that reported usage.
    expect(await reportRow(gateway)).toMatchObject({ requests: 4, prompt_tokens: 14, completion_tokens: 6 })
    // Nothing comes in late: a second look after everything settled sees the same.
    expect((await status(gateway)).spent_usd).toBeCloseTo(spent, 9)
    expect(await reportRow(gateway)).toMatchObject({ requests: 4 })
  })
})
