// Canonical chunks -> the OpenAI SSE wire format (`data: {json}\n\n` ... `data: [DONE]\n\n`).
import type { ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { fromOpenAIUsage, type StreamTap, type TokenUsage } from '../plugins/call-record.js'
import { ClientAbortError, GatewayError } from '../plugins/gateway-error.js'
import type { Batch } from '../providers/shared/batch.js'
import type { ChatCompletionChunk } from '../schemas/openai/chat.js'

const done = 'data: [DONE]\n\n'

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve))

export interface SseOptions {
  /** The client asked for stream_options.include_usage; otherwise the usage-only chunk is dropped. */
  includeUsage: boolean
  log: FastifyBaseLogger
  /** See every chunk, then the end state (routes/call-context.ts streamTapsFor). */
  taps?: readonly StreamTap[]
  onUsage?: (usage: TokenUsage) => void
  /** The code of the error event a failed stream ended with. */
  onError?: (code: string) => void
}

/** Calls every tap's end once, whichever way the stream ended. */
export function endTaps(taps: readonly StreamTap[] | undefined, completed: boolean): void {
  if (taps) for (const tap of taps) tap.end?.(completed)
}

export function tapChunk(taps: readonly StreamTap[] | undefined, chunk: unknown, json: string): void {
  if (taps) for (const tap of taps) tap.chunk?.(chunk, json)
}

/**
 * A chunk's JSON for one `data:` line: the upstream's own text when it was kept, unless it spans
 * lines (an event of several data lines), which would not fit one.
 */
export function jsonLine(chunk: unknown, text: string | undefined): string {
  return text !== undefined && !text.includes('\n') ? text : JSON.stringify(chunk)
}

/**
 * An upstream failure after the first byte can't change the status any more, so it ends the stream
 * with an error event in the shape the OpenAI SDKs raise as APIError, and no [DONE].
 * One string per batch: one write, and one HTTP chunk, per upstream read.
 */
export async function* encodeChatSse(
  batches: AsyncIterable<Batch<ChatCompletionChunk>>,
  options: SseOptions,
): AsyncGenerator<string> {
  const { taps } = options
  let completed = false
  try {
    for await (const { items, texts } of batches) {
      let out = ''
      for (let i = 0; i < items.length; i++) {
        const chunk = items[i]!
        const json = jsonLine(chunk, texts?.[i])
        tapChunk(taps, chunk, json)
        if (chunk.usage) options.onUsage?.(fromOpenAIUsage(chunk.usage))
        // The usage-only chunk the gateway asked for on the client's behalf is not the client's.
        // (`usage: null` on the other chunks is left as the upstream wrote it: valid either way.)
        if (!options.includeUsage && chunk.choices.length === 0 && chunk.usage) continue
        out += `data: ${json}\n\n`
      }
      if (out !== '') yield out
    }
    completed = true
    yield done
  } catch (err) {
    if (err instanceof ClientAbortError) return
    const error =
      err instanceof GatewayError
        ? err
        : new GatewayError(502, 'The upstream stream failed.', 'upstream_error', 'upstream_stream_error')
    if (!(err instanceof GatewayError)) options.log.error({ err }, 'stream failed')
    else options.log.warn({ status: error.statusCode, code: error.code }, error.message)
    options.onError?.(error.code ?? 'upstream_stream_error')
    yield `data: ${JSON.stringify(error.toBody())}\n\n`
  } finally {
    endTaps(taps, completed)
  }
}

/**
 * Holds the writes of one event-loop turn in the socket until setImmediate rather than Node's own
 * cork until the next tick, which ends before the stream does (its end takes two more ticks): the
 * last batch, [DONE] and the chunked terminator from res.end() then leave in one syscall, not two.
 * The first write is the exception, sent before the rest is read (time to first byte).
 */
async function* corkedPerTurn(res: ServerResponse, events: AsyncIterable<string>): AsyncGenerator<string> {
  let corked = false
  let first = true
  const uncork = () => {
    corked = false
    // end() uncorked fully already, and by now the socket may be serving the next request.
    if (!res.writableEnded) res.socket?.uncork()
  }
  for await (const text of events) {
    if (first) {
      first = false
      yield text
      // Node's own cork sends the write (with the headers) on the next tick: let it run first.
      await nextTick()
      continue
    }
    if (!corked && res.socket) {
      corked = true
      res.socket.cork()
      setImmediate(uncork)
    }
    yield text
  }
}

export function sendSse(reply: FastifyReply, events: AsyncIterable<string>): FastifyReply {
  reply.headers({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    // Proxies such as nginx would otherwise hold chunks back.
    'x-accel-buffering': 'no',
  })
  return reply.send(Readable.from(corkedPerTurn(reply.raw, events), { objectMode: false }))
}
