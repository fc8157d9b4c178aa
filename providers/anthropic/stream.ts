// Anthropic stream events -> canonical chunks, through a typed per-stream state. Pure: events in,
// chunks out; reading and failures of the body stay in events.ts and the adapter.
// Event flow and deltas: https://platform.claude.com/docs/en/build-with-claude/streaming
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { ChatCompletionChunk, FinishReason } from '../../schemas/openai/chat.js'
import type { BatchOut } from '../shared/batch.js'
import type { SseEvent, SseTranslator } from '../shared/sse-reader.js'
import { AnthropicEventTranslator, type StreamSource } from './events.js'
import { toFinishReason } from './finish-reason.js'
import { type ThinkingBlockOut, toUsage } from './response.js'
import type { AnthropicStreamEvent, AnthropicUsageWire } from './wire.js'

/** What each open content block (by Anthropic's content index) turns into. */
type BlockState =
  | { kind: 'text' }
  /** The response_format json_schema tool: its input fragments are the answer's content. */
  | { kind: 'answer' }
  /** `index` counts tool calls only, as OpenAI's tool_calls[].index does, not content blocks. */
  | { kind: 'tool'; index: number; sentArguments: boolean }
  | { kind: 'thinking'; thinking: string; signature: string }
  /** Blocks of features this adapter never requests (server tools...) and redacted thinking. */
  | { kind: 'other' }

export interface StreamState {
  id: string
  model: string
  blocks: Map<number, BlockState>
  toolCalls: number
  usage: Partial<AnthropicUsageWire>
  stopReason: string | null
}

export interface ChunkOptions {
  provider: string
  answerTool: string | null
  /** Unix seconds for every chunk of the stream. */
  created: number
}

/** The delta with Anthropic's reasoning on it (the same fields as response.ts's message). */
type Delta = ChatCompletionChunk['choices'][number]['delta'] & {
  reasoning_content?: string
  thinking_blocks?: ThinkingBlockOut[]
}

export function newStreamState(): StreamState {
  return { id: '', model: '', blocks: new Map(), toolCalls: 0, usage: {}, stopReason: null }
}

function chunk(
  state: StreamState,
  options: ChunkOptions,
  delta: Delta,
  finish: FinishReason | null = null,
): ChatCompletionChunk {
  return {
    id: state.id,
    object: 'chat.completion.chunk',
    created: options.created,
    model: state.model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  }
}

function startBlock(
  event: Extract<AnthropicStreamEvent, { type: 'content_block_start' }>,
  state: StreamState,
  options: ChunkOptions,
): ChatCompletionChunk[] {
  const block = event.content_block
  switch (block.type) {
    case 'text':
      state.blocks.set(event.index, { kind: 'text' })
      return block.text ? [chunk(state, options, { content: block.text })] : []
    case 'tool_use': {
      if (block.name === options.answerTool) {
        state.blocks.set(event.index, { kind: 'answer' })
        return []
      }
      const index = state.toolCalls++
      state.blocks.set(event.index, { kind: 'tool', index, sentArguments: false })
      const call = {
        index,
        id: block.id,
        type: 'function' as const,
        function: { name: block.name, arguments: '' },
      }
      return [chunk(state, options, { tool_calls: [call] })]
    }
    case 'thinking':
      state.blocks.set(event.index, {
        kind: 'thinking',
        thinking: block.thinking,
        signature: block.signature ?? '',
      })
      return block.thinking ? [chunk(state, options, { reasoning_content: block.thinking })] : []
    case 'redacted_thinking':
      state.blocks.set(event.index, { kind: 'other' })
      return [chunk(state, options, { thinking_blocks: [{ type: 'redacted_thinking', data: block.data }] })]
    default:
      state.blocks.set(event.index, { kind: 'other' })
      return []
  }
}

function applyDelta(
  event: Extract<AnthropicStreamEvent, { type: 'content_block_delta' }>,
  state: StreamState,
  options: ChunkOptions,
): ChatCompletionChunk[] {
  const block = state.blocks.get(event.index)
  if (!block)
    throw upstreamBadResponse(options.provider, `a delta for content block ${event.index}, never started`)
  const delta = event.delta
  if (block.kind === 'other') return []
  if (delta.type === 'text_delta' && block.kind === 'text') {
    return delta.text ? [chunk(state, options, { content: delta.text })] : []
  }
  if (delta.type === 'input_json_delta' && block.kind === 'answer') {
    return delta.partial_json ? [chunk(state, options, { content: delta.partial_json })] : []
  }
  if (delta.type === 'input_json_delta' && block.kind === 'tool') {
    if (!delta.partial_json) return []
    block.sentArguments = true
    return [
      chunk(state, options, {
        tool_calls: [{ index: block.index, function: { arguments: delta.partial_json } }],
      }),
    ]
  }
  if (delta.type === 'thinking_delta' && block.kind === 'thinking') {
    block.thinking += delta.thinking
    return delta.thinking ? [chunk(state, options, { reasoning_content: delta.thinking })] : []
  }
  if (delta.type === 'signature_delta' && block.kind === 'thinking') {
    block.signature += delta.signature
    return []
  }
  // Citations are only sent for documents with citations enabled, which this adapter never asks for.
  if (delta.type === 'citations_delta') return []
  throw upstreamBadResponse(options.provider, `a ${delta.type} arrived for a ${block.kind} block`)
}

function stopBlock(index: number, state: StreamState, options: ChunkOptions): ChatCompletionChunk[] {
  const block = state.blocks.get(index)
  // A tool without parameters may stream no input at all; its input is {} as in the full message.
  if (block?.kind === 'tool' && !block.sentArguments) {
    return [chunk(state, options, { tool_calls: [{ index: block.index, function: { arguments: '{}' } }] })]
  }
  // The signature is complete only now; the whole block goes out once, to be sent back later.
  if (block?.kind === 'thinking') {
    const signed: ThinkingBlockOut = {
      type: 'thinking',
      thinking: block.thinking,
      signature: block.signature,
    }
    return [chunk(state, options, { thinking_blocks: [signed] })]
  }
  return []
}

/** One event -> the chunks it stands for (often none). Mutates `state`. */
export function fromAnthropicEvent(
  event: AnthropicStreamEvent,
  state: StreamState,
  options: ChunkOptions,
): ChatCompletionChunk[] {
  if (event.type === 'message_start') {
    state.id = event.message.id
    state.model = event.message.model
    state.usage = { ...event.message.usage }
    return [chunk(state, options, { role: 'assistant', content: '' })]
  }
  if (event.type === 'ping') return []
  if (state.id === '')
    throw upstreamBadResponse(options.provider, `a ${event.type} event came before message_start`)
  switch (event.type) {
    case 'content_block_start':
      return startBlock(event, state, options)
    case 'content_block_delta':
      return applyDelta(event, state, options)
    case 'content_block_stop':
      return stopBlock(event.index, state, options)
    case 'message_delta': {
      state.stopReason = event.delta.stop_reason ?? state.stopReason
      // The counts in message_delta are cumulative totals: present ones replace, none add up.
      for (const [key, value] of Object.entries(event.usage ?? {})) {
        if (value !== null && value !== undefined) (state.usage as Record<string, unknown>)[key] = value
      }
      return []
    }
    case 'message_stop': {
      const finish = toFinishReason(state.stopReason, options.answerTool !== null)
      const usage: ChatCompletionChunk = {
        id: state.id,
        object: 'chat.completion.chunk',
        created: options.created,
        model: state.model,
        choices: [],
        usage: toUsage(state.usage),
      }
      return [chunk(state, options, {}, finish), usage]
    }
    default:
      // New event types may appear (versioning policy); they carry nothing this mapping knows.
      return []
  }
}

/**
 * The stream as chunks: role first, deltas, the finish chunk, then a usage chunk (choices: []). The
 * events come from the passthrough's own translator, a read at a time.
 */
export class AnthropicChunkTranslator implements SseTranslator<ChatCompletionChunk> {
  readonly #events: AnthropicEventTranslator
  readonly #state = newStreamState()
  readonly #options: ChunkOptions

  constructor(source: StreamSource, options: ChunkOptions) {
    this.#events = new AnthropicEventTranslator(source)
    this.#options = options
  }

  read(messages: readonly SseEvent[], out: BatchOut<ChatCompletionChunk>): boolean {
    const events: BatchOut<AnthropicStreamEvent> = { items: [], texts: [] }
    let ended = false
    let failure: unknown
    try {
      ended = this.#events.read(messages, events)
    } catch (err) {
      failure = err
    }
    // The events before a bad one still become chunks (and reach the client), then the error.
    for (const event of events.items) out.items.push(...fromAnthropicEvent(event, this.#state, this.#options))
    if (failure !== undefined) throw failure
    return ended
  }

  end(): void {
    this.#events.end()
  }
}
