// A stream's first event leaves at once (time to first byte, issue #8); the writes after it are held
// for the rest of the turn, so the last batch, [DONE] and the end still leave together.
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import type { Batch } from '../providers/shared/batch.js'
import { SseBody, type SseEncoder, sendSse } from '../routes/sse.js'
import { closeAfterTest } from './helpers/cleanup.js'

/** Each item as a data line, then [DONE]. */
const dataLines: SseEncoder<string> = {
  batch: ({ items }) => items.map((item) => `data: ${item}\n\n`).join(''),
  completed: () => 'data: [DONE]\n\n',
  failed: () => '',
  closed() {},
}

describe('sendSse', () => {
  it('sends the first event before reading the next one, and holds the later writes of a turn', async () => {
    const app = Fastify()
    closeAfterTest(() => app.close())
    const seen: { firstSent?: boolean; secondHeld?: boolean } = {}
    app.get('/events', (_request, reply) => {
      const socket = reply.raw.socket!
      async function* batches(): AsyncGenerator<Batch<string>> {
        yield { items: ['1'] }
        seen.firstSent = socket.writableLength === 0 && socket.bytesWritten > 0
        yield { items: ['2'] }
        seen.secondHeld = socket.writableLength > 0
      }
      return sendSse(reply, batches(), dataLines)
    })
    const origin = await app.listen({ port: 0, host: '127.0.0.1' })

    const res = await request(`${origin}/events`)
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(await res.body.text()).toBe('data: 1\n\ndata: 2\n\ndata: [DONE]\n\n')
    expect(seen).toEqual({ firstSent: true, secondHeld: true })
  })
})

describe('SseBody', () => {
  it('pulls no further than its buffer while nobody reads, and reads on when the response does', async () => {
    let pulled = 0
    let closed = false
    async function* endless(): AsyncGenerator<Batch<string>> {
      try {
        for (;;) {
          pulled++
          yield { items: ['x'.repeat(1_000)] }
          // A turn per batch, as a socket read: a body that never stopped pulling fails the test
          // rather than starving its timers.
          await new Promise((resolve) => setImmediate(resolve))
        }
      } finally {
        closed = true
      }
    }
    const body = new SseBody({ socket: null, writableEnded: false }, endless(), dataLines)
    body.pause()
    body.read(0)
    await sleep(50)
    // A Readable's buffer holds 16 KiB: past it, no more batches are asked for.
    const whilePaused = pulled
    expect(whilePaused).toBeGreaterThan(0)
    expect(whilePaused).toBeLessThanOrEqual(20)
    await sleep(50)
    expect(pulled).toBe(whilePaused)
    for (let i = 0; i < 10; i++) body.read()
    await sleep(50)
    expect(pulled).toBeGreaterThan(whilePaused)
    expect(closed).toBe(false)
    // The client leaves: the source is closed, as Fastify destroys the body.
    await new Promise<void>((resolve) => body.once('close', () => resolve()).destroy())
    expect(closed).toBe(true)
  })
})
