// Canonical chunks -> Anthropic stream events, as a per-stream state machine. The order follows
// https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types: message_start, ping,
// then per content block start / deltas / stop (one block open at a time), message_delta with the
// stop reason and usage, message_stop.
import { randomUUID } from 'node:crypto'
import { type Batch, doneResult } from '../../providers/shared/batch.js'
import type { AnthropicContentBlock, AnthropicStreamEvent } from '../../schemas/anthropic/messages.js'
import type { ChatCompletionChunk, FinishReason, ToolCallDelta } from '../../schemas/openai/chat.js'
import type { CompletionUsage } from '../../schemas/openai/usage.js'
import { reasoningOf, toAnthropicUsage, toMessageId, toStopReason } from './from-canonical.js'

type BlockKind = 'text' | 'thinking' | 'tool_use'
type Delta = Extract<AnthropicStreamEvent, { type: 'content_block_delta' }>['delta']

export interface StreamState {
  started: boolean
  /** The block being written; Anthropic streams one block at a time. */
  open: { kind: BlockKind; index: number } | null
  nextIndex: number
  /** Canonical tool-call index -> content block index. */
  toolBlocks: Map<number, number>
  finish: FinishReason | null
  usage: CompletionUsage | null
  refused: boolean
}

export const newStreamState = (): StreamState => ({
  started: false,
  open: null,
  nextIndex: 0,
  toolBlocks: new Map(),
  finish: null,
  usage: null,
  refused: false,
})

export interface StreamMeta {
  /** Names the message when the upstream ended without a single chunk. */
  model: string
}

function messageStart(id: string | undefined, model: string, usage: CompletionUsage | null | undefined) {
  return {
    type: 'message_start',
    message: {
      id: toMessageId(id),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Input tokens are known up front only if the upstream reports usage early; message_delta repeats them.
      usage: { ...toAnthropicUsage(usage), output_tokens: 0 },
    },
  } satisfies AnthropicStreamEvent
}

function* closeBlock(state: StreamState): Generator<AnthropicStreamEvent> {
  if (!state.open) return
  yield { type: 'content_block_stop', index: state.open.index }
  state.open = null
}

function* openBlock(
  state: StreamState,
  kind: BlockKind,
  block: AnthropicContentBlock,
): Generator<AnthropicStreamEvent, number> {
  yield* closeBlock(state)
  const index = state.nextIndex++
  state.open = { kind, index }
  yield { type: 'content_block_start', index, content_block: block }
  return index
}

/** Text and thinking deltas continue the open block of their kind, or start a new one. */
function* write(
  state: StreamState,
  kind: 'text' | 'thinking',
  delta: Delta,
): Generator<AnthropicStreamEvent> {
  let index = state.open?.kind === kind ? state.open.index : undefined
  if (index === undefined) {
    // No signature: only Anthropic signs thinking (see from-canonical.ts).
    const block: AnthropicContentBlock =
      kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' }
    index = yield* openBlock(state, kind, block)
  }
  yield { type: 'content_block_delta', index, delta }
}

/**
 * A tool call's first delta (new index) starts a tool_use block; argument fragments follow as
 * input_json_delta. Upstreams stream calls one after another; a fragment for an earlier call is
 * still sent to that call's block index, which the SDK accumulates by index.
 */
function* writeToolCall(state: StreamState, call: ToolCallDelta): Generator<AnthropicStreamEvent> {
  let index = state.toolBlocks.get(call.index)
  if (index === undefined) {
    index = yield* openBlock(state, 'tool_use', {
      type: 'tool_use',
      id: call.id ?? `toolu_${randomUUID().replaceAll('-', '')}`,
      name: call.function?.name ?? '',
      input: {},
    })
    state.toolBlocks.set(call.index, index)
  }
  const fragment = call.function?.arguments
  if (fragment)
    yield { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: fragment } }
}

/** One canonical chunk -> the events it implies. Only choice 0 exists: the route never asks for n. */
export function* onChunk(state: StreamState, chunk: ChatCompletionChunk): Generator<AnthropicStreamEvent> {
  if (!state.started) {
    state.started = true
    yield messageStart(chunk.id, chunk.model, chunk.usage)
    yield { type: 'ping' }
  }
  if (chunk.usage) state.usage = chunk.usage
  const choice = chunk.choices?.find((c) => c.index === 0)
  if (!choice) return
  const delta = choice.delta ?? {}
  const reasoning = reasoningOf(delta)
  if (reasoning) yield* write(state, 'thinking', { type: 'thinking_delta', thinking: reasoning })
  if (typeof delta.content === 'string' && delta.content !== '') {
    yield* write(state, 'text', { type: 'text_delta', text: delta.content })
  }
  if (typeof delta.refusal === 'string' && delta.refusal !== '') {
    state.refused = true
    yield* write(state, 'text', { type: 'text_delta', text: delta.refusal })
  }
  for (const call of delta.tool_calls ?? []) yield* writeToolCall(state, call)
  if (choice.finish_reason) state.finish = choice.finish_reason
}

/**
 * The end of the canonical stream: the usage chunk comes after the finish chunk, so the stop
 * reason and usage are only sent now. message_delta usage is cumulative, input tokens included.
 */
export function* onEnd(state: StreamState, meta: StreamMeta): Generator<AnthropicStreamEvent> {
  if (!state.started) {
    state.started = true
    yield messageStart(undefined, meta.model, null)
  }
  yield* closeBlock(state)
  const stopReason = toStopReason(state.finish, {
    toolUse: state.toolBlocks.size > 0,
    refused: state.refused,
  })
  yield {
    type: 'message_delta',
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: state.usage ? toAnthropicUsage(state.usage) : { output_tokens: 0 },
  }
  yield { type: 'message_stop' }
}

/**
 * A batch of events per batch of chunks, then the closing events. A plain iterator rather than an
 * async generator, which held ~1 KB per open stream and cost promises per read (issue #8). return()
 * closes the chunks' stream too: when the client goes away, the upstream call is given up.
 */
class AnthropicEventsOfChunks implements AsyncIterableIterator<Batch<AnthropicStreamEvent>> {
  readonly #chunks: AsyncIterator<Batch<ChatCompletionChunk>>
  readonly #meta: StreamMeta
  readonly #state = newStreamState()
  #ended = false

  constructor(chunks: AsyncIterable<Batch<ChatCompletionChunk>>, meta: StreamMeta) {
    this.#chunks = chunks[Symbol.asyncIterator]()
    this.#meta = meta
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  async next(): Promise<IteratorResult<Batch<AnthropicStreamEvent>, undefined>> {
    while (!this.#ended) {
      let result: IteratorResult<Batch<ChatCompletionChunk>>
      try {
        result = await this.#chunks.next()
      } catch (err) {
        // As a generator that threw: nothing more, the closing events least of all.
        this.#ended = true
        throw err
      }
      // return() came while the read was pending: the reader has gone.
      if (this.#ended) break
      if (result.done) {
        this.#ended = true
        return { value: { items: [...onEnd(this.#state, this.#meta)] }, done: false }
      }
      const items: AnthropicStreamEvent[] = []
      for (const chunk of result.value.items) items.push(...onChunk(this.#state, chunk))
      if (items.length > 0) return { value: { items }, done: false }
    }
    return doneResult
  }

  async return(): Promise<IteratorResult<Batch<AnthropicStreamEvent>, undefined>> {
    if (!this.#ended) {
      this.#ended = true
      await this.#chunks.return?.()
    }
    return doneResult
  }
}

export const toAnthropicEvents = (
  batches: AsyncIterable<Batch<ChatCompletionChunk>>,
  meta: StreamMeta,
): AsyncIterableIterator<Batch<AnthropicStreamEvent>> => new AnthropicEventsOfChunks(batches, meta)
