// Regression: the SSE reader buffered an unterminated `data:` line without bound, so an upstream
// sending one huge event grew the gateway's memory until the idle timeout, and the client got a 504
// that blamed a slow upstream. The reader now stops at maxSseEventChars with a 502.
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../../plugins/gateway-error.js'
import type { Batch } from '../../providers/shared/batch.js'
import {
  maxSseEventChars,
  SseBatchReader,
  type SseEvent,
  sseEvents,
} from '../../providers/shared/sse-reader.js'

const readSseBatches = (body: AsyncIterable<Uint8Array>, maxEventChars?: number) =>
  new SseBatchReader(body, sseEvents, { maxEventChars })

/** The reader's batches, one event at a time. */
async function* eachItem<T>(batches: AsyncIterable<Batch<T>>): AsyncGenerator<T> {
  for await (const batch of batches) yield* batch.items
}

async function* bytesOf(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part)
}

async function readAll(events: AsyncIterable<SseEvent>): Promise<{ data: string[]; error?: unknown }> {
  const data: string[] = []
  try {
    for await (const event of events) data.push(event.data)
  } catch (error) {
    return { data, error }
  }
  return { data }
}

describe('SSE reader size limit', () => {
  it('stops at an unterminated line over the limit, after yielding the events before it', async () => {
    const huge = `data: ${'x'.repeat(maxSseEventChars + 1)}`
    const { data, error } = await readAll(
      eachItem(readSseBatches(bytesOf('data: one\n\ndata: two\n\n', huge))),
    )
    expect(data).toEqual(['one', 'two'])
    expect(error).toBeInstanceOf(GatewayError)
    expect((error as GatewayError).toBody()).toEqual({
      error: {
        message: expect.stringContaining(`over ${maxSseEventChars} characters`),
        type: 'upstream_error',
        param: null,
        code: 'upstream_bad_response',
      },
    })
    expect((error as GatewayError).statusCode).toBe(502)
  })

  it('counts an event split over many data lines and many reads as one', async () => {
    const line = `data: ${'y'.repeat(64 * 1024)}\n`
    const parts = Array.from({ length: 20 }, () => line)
    const { data, error } = await readAll(eachItem(readSseBatches(bytesOf(...parts), 1024 * 1024)))
    expect(data).toEqual([])
    expect((error as GatewayError).code).toBe('upstream_bad_response')
  })

  it('passes a large event under the limit, and the limit applies per event', async () => {
    const big = 'z'.repeat(maxSseEventChars - 1024)
    const { data, error } = await readAll(
      eachItem(readSseBatches(bytesOf(`data: ${big}\n\n`, `data: ${big}\n\n`))),
    )
    expect(error).toBeUndefined()
    expect(data.map((d) => d.length)).toEqual([big.length, big.length])
  })
})
