// Serving a stored answer, and recording a streamed one. A hit goes out through the same encoder as
// a live stream (routes/sse.ts), so a replay has the same chunk shapes, [DONE] and usage handling.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Batch } from '../../providers/shared/batch.js'
import { streamTapsFor } from '../../routes/call-context.js'
import { ChatSseEncoder, sendSse } from '../../routes/sse.js'
import type { ChatCompletionChunk } from '../../schemas/openai/chat.js'
import type { GatewayContext, StreamTap } from '../call-record.js'
import { headerSafe } from '../header-value.js'
import type { CachedAnswer } from './store.js'

async function* replayChunks(texts: readonly string[]): AsyncGenerator<Batch<ChatCompletionChunk>> {
  // One batch, so one write. The stored text goes out unchanged; the parse is for the encoder's
  // usage-chunk check and taps.
  if (texts.length > 0) yield { items: texts.map((text) => JSON.parse(text) as ChatCompletionChunk), texts }
}

/**
 * Answers from the cache. The stored id is kept (the SDKs don't care whether ids repeat); attempts
 * are 0 and no cost is set, which the spend and metrics plugins read as a hit.
 */
export function serveHit(
  request: FastifyRequest,
  reply: FastifyReply,
  answer: CachedAnswer,
  includeUsage: boolean,
): void {
  const stream = answer.kind === 'stream'
  const gateway: GatewayContext = {
    model: answer.model,
    provider: answer.provider,
    upstreamModel: answer.upstreamModel,
    attempts: 0,
    stream,
    cache: 'HIT',
  }
  if (answer.usage) gateway.usage = answer.usage
  request.cacheStatus = 'HIT'
  request.gateway = gateway
  reply.headers({
    'x-anygate-provider': answer.provider,
    'x-anygate-model': headerSafe(answer.upstreamModel),
    'x-anygate-attempts': '0',
    'x-anygate-cache': 'HIT',
  })
  if (!stream) {
    gateway.firstByteMs = reply.elapsedTime
    reply.header('content-type', 'application/json; charset=utf-8').send(answer.body)
    return
  }
  sendSse(
    reply,
    replayChunks(answer.chunks),
    new ChatSseEncoder({ includeUsage, log: request.log, taps: streamTapsFor(request, reply) }),
  )
}

/**
 * A stream tap keeping each chunk's text until the stream ends; only a stream that completed is
 * handed to `save` (a failed or aborted one never is). Beyond `maxBytes` it stops keeping anything.
 */
export class StreamRecorder implements StreamTap {
  #chunks: string[] = []
  #bytes = 0
  #tooLarge = false

  constructor(
    private readonly maxBytes: number,
    private readonly save: (chunks: string[]) => void,
  ) {}

  chunk(_chunk: unknown, text: string): void {
    if (this.#tooLarge) return
    this.#bytes += text.length
    if (this.#bytes > this.maxBytes) {
      this.#tooLarge = true
      this.#chunks = []
      return
    }
    this.#chunks.push(text)
  }

  end(completed: boolean): void {
    if (completed && !this.#tooLarge) this.save(this.#chunks)
  }
}
