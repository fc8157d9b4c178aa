// Gemini streamGenerateContent?alt=sse -> canonical chunks, through a typed per-stream state. Each
// SSE `data:` is a whole GenerateContentResponse holding the next piece of every candidate
// (https://ai.google.dev/gemini-api/docs/text-generation#streaming-responses). Pure: events in, chunks out.
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { ChatCompletionChunk, FinishReason, ToolCallDelta } from '../../schemas/openai/chat.js'
import type { BatchOut } from '../shared/batch.js'
import type { SseEvent, SseTranslator } from '../shared/sse-reader.js'
import { fromGeminiError } from './errors.js'
import { blockedPromptFinish, toFinishReason } from './finish-reason.js'
import { candidateIndex, splitParts, toUsage } from './response.js'
import type { GeminiGenerateContentResponse, GeminiUsageMetadata } from './wire.js'

interface CandidateState {
  /** Tool calls sent so far: the next call's OpenAI index (tool_calls[].index counts calls only). */
  toolCalls: number
  finished: boolean
}

export interface StreamState {
  /** Fixed by the first chunk: the completion id and model every chunk repeats. */
  id: string | null
  model: string
  responseId: string | undefined
  candidates: Map<number, CandidateState>
  /** The latest usageMetadata: Gemini's counts are running totals, so the last one is the answer's. */
  usage: GeminiUsageMetadata | undefined
  blockReason: string | undefined
}

export interface StreamOptions {
  provider: string
  /** The upstream model asked for, used when chunks carry no modelVersion; also named in errors. */
  model: string
  created: number
  /** The completion id when the chunks carry no responseId. */
  fallbackId: string
  secrets: readonly string[]
}

type Delta = ChatCompletionChunk['choices'][number]['delta'] & { reasoning_content?: string }

export function newStreamState(model: string): StreamState {
  return {
    id: null,
    model,
    responseId: undefined,
    candidates: new Map(),
    usage: undefined,
    blockReason: undefined,
  }
}

function chunk(
  state: StreamState,
  options: StreamOptions,
  index: number,
  delta: Delta,
  finish: FinishReason | null = null,
) {
  const out: ChatCompletionChunk = {
    id: state.id ?? options.fallbackId,
    object: 'chat.completion.chunk',
    created: options.created,
    model: state.model,
    choices: [{ index, delta, finish_reason: finish, logprobs: null }],
  }
  return out
}

/** One GenerateContentResponse -> the chunks it stands for. Mutates `state`. */
export function fromGeminiChunk(
  response: GeminiGenerateContentResponse,
  state: StreamState,
  options: StreamOptions,
): ChatCompletionChunk[] {
  if (state.id === null) {
    state.responseId = response.responseId
    state.id = response.responseId ? `chatcmpl-${response.responseId}` : options.fallbackId
    state.model = response.modelVersion ?? state.model
  }
  if (response.usageMetadata) state.usage = response.usageMetadata
  if (response.promptFeedback?.blockReason) state.blockReason = response.promptFeedback.blockReason
  const out: ChatCompletionChunk[] = []
  ;(response.candidates ?? []).forEach((candidate, position) => {
    const index = candidateIndex(candidate, position)
    let candidateState = state.candidates.get(index)
    if (!candidateState) {
      candidateState = { toolCalls: 0, finished: false }
      state.candidates.set(index, candidateState)
      out.push(chunk(state, options, index, { role: 'assistant', content: '' }))
    }
    const { text, reasoning, toolCalls } = splitParts(candidate.content?.parts ?? [], {
      responseId: state.responseId,
      candidate: index,
      call: candidateState.toolCalls,
    })
    if (candidateState.finished) {
      // A trailing chunk repeating the finish (usage, ratings) adds nothing; new content would be lost.
      if (text === '' && reasoning === '' && toolCalls.length === 0) return
      throw upstreamBadResponse(options.provider, `candidate ${index} continued after its finishReason`)
    }
    const delta: Delta = {}
    if (reasoning !== '') delta.reasoning_content = reasoning
    if (text !== '') delta.content = text
    if (toolCalls.length > 0) {
      // Gemini sends each call whole: id, name and the complete arguments go in its first delta.
      delta.tool_calls = toolCalls.map(
        (call, i): ToolCallDelta => ({ ...call, index: candidateState.toolCalls + i }),
      )
      candidateState.toolCalls += toolCalls.length
    }
    if (Object.keys(delta).length > 0) out.push(chunk(state, options, index, delta))
    if (candidate.finishReason) {
      candidateState.finished = true
      out.push(
        chunk(
          state,
          options,
          index,
          {},
          toFinishReason(candidate.finishReason, candidateState.toolCalls > 0),
        ),
      )
    }
  })
  return out
}

/** The chunks after the last event: a blocked prompt's answer, then the usage chunk (choices: []). */
export function finishStream(state: StreamState, options: StreamOptions): ChatCompletionChunk[] {
  const out: ChatCompletionChunk[] = []
  if (state.candidates.size === 0) {
    if (!state.blockReason) {
      throw upstreamBadResponse(options.provider, 'the stream ended before the answer finished')
    }
    out.push(chunk(state, options, 0, { role: 'assistant', content: '' }))
    out.push(chunk(state, options, 0, {}, blockedPromptFinish))
  }
  for (const [index, candidate] of state.candidates) {
    if (!candidate.finished) {
      throw upstreamBadResponse(options.provider, `the stream ended before candidate ${index} finished`)
    }
  }
  out.push({
    id: state.id ?? options.fallbackId,
    object: 'chat.completion.chunk',
    created: options.created,
    model: state.model,
    choices: [],
    usage: toUsage(state.usage),
  })
  return out
}

function parseEvent(event: SseEvent, options: StreamOptions): GeminiGenerateContentResponse {
  let parsed: GeminiGenerateContentResponse & { error?: { code?: unknown } }
  try {
    parsed = JSON.parse(event.data)
  } catch {
    throw upstreamBadResponse(options.provider, 'a stream event was not valid JSON')
  }
  if (parsed === null || typeof parsed !== 'object') {
    throw upstreamBadResponse(options.provider, 'a stream event was not a JSON object')
  }
  // An error after the first byte arrives as an event holding the usual error body.
  if (parsed.error !== undefined) {
    const status = typeof parsed.error?.code === 'number' ? parsed.error.code : 500
    throw fromGeminiError({ ...options, status, body: event.data, midStream: true })
  }
  return parsed
}

/**
 * SSE events -> chunks: role first, deltas, a finish chunk per candidate, then the usage chunk.
 * Gemini has no end marker: the body's end closes the stream.
 */
export class GeminiChunkTranslator implements SseTranslator<ChatCompletionChunk> {
  readonly #state: StreamState

  constructor(private readonly options: StreamOptions) {
    this.#state = newStreamState(options.model)
  }

  read(events: readonly SseEvent[], out: BatchOut<ChatCompletionChunk>): boolean {
    for (const event of events) {
      out.items.push(...fromGeminiChunk(parseEvent(event, this.options), this.#state, this.options))
    }
    return false
  }

  end(out: BatchOut<ChatCompletionChunk>): void {
    out.items.push(...finishStream(this.#state, this.options))
  }
}
