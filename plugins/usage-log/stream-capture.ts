// What a streamed answer said, assembled from its chunks for the usage log (only with bodies on):
// the text, reasoning and tool calls per choice for chat streams, the content blocks for Anthropic
// Messages streams. Bounded: past `maxChars` of assembled text nothing more is kept and the result
// is marked truncated, so a long stream costs at most that much memory.
import type { StreamTap } from '../call-record.js'

/** A chat stream's answer, one entry per choice. */
export interface AssembledChat {
  choices: {
    index: number
    content: string
    reasoning_content?: string
    tool_calls?: { id: string | null; name: string | null; arguments: string }[]
    finish_reason: string | null
  }[]
}

/** A Messages stream's answer, its blocks in order (a tool's input as the JSON text it streamed). */
export interface AssembledMessage {
  content: (
    | { type: 'text'; text: string }
    | { type: 'thinking'; thinking: string }
    | { type: 'tool_use'; id: string | null; name: string | null; input: string }
    | { type: string }
  )[]
  stop_reason: string | null
}

export interface StreamCapture extends StreamTap {
  chunk(chunk: unknown): void
  /** The answer so far; null before the first chunk. */
  result(): AssembledChat | AssembledMessage | null
  readonly truncated: boolean
}

/** Counts what is kept, and refuses more once the budget is spent. */
class Budget {
  #left: number
  truncated = false

  constructor(maxChars: number) {
    this.#left = maxChars
  }

  /** The part of `text` that still fits. */
  take(text: string): string {
    if (this.truncated || text.length === 0) return this.truncated ? '' : text
    if (text.length <= this.#left) {
      this.#left -= text.length
      return text
    }
    const kept = text.slice(0, this.#left)
    this.#left = 0
    this.truncated = true
    return kept
  }
}

interface ChunkChoice {
  index?: number
  delta?: {
    content?: string | null
    reasoning_content?: string | null
    tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[] | null
  }
  finish_reason?: string | null
}

type ChatChoice = AssembledChat['choices'][number]
type ChatToolCall = NonNullable<ChatChoice['tool_calls']>[number]

export function captureChatStream(maxChars: number): StreamCapture {
  const budget = new Budget(maxChars)
  const choices = new Map<number, ChatChoice>()
  const toolCalls = new Map<ChatChoice, Map<number, ChatToolCall>>()
  let seen = false

  function choiceAt(index: number): ChatChoice {
    let choice = choices.get(index)
    if (!choice) {
      choice = { index, content: '', finish_reason: null }
      choices.set(index, choice)
    }
    return choice
  }

  function addToolCall(
    choice: ChatChoice,
    delta: NonNullable<NonNullable<ChunkChoice['delta']>['tool_calls']>[number],
  ) {
    let calls = toolCalls.get(choice)
    if (!calls) {
      calls = new Map()
      toolCalls.set(choice, calls)
      choice.tool_calls = []
    }
    const at = delta.index ?? 0
    let call = calls.get(at)
    if (!call) {
      call = { id: null, name: null, arguments: '' }
      calls.set(at, call)
      choice.tool_calls!.push(call)
    }
    if (delta.id) call.id = delta.id
    if (delta.function?.name) call.name = budget.take(delta.function.name) || call.name
    if (delta.function?.arguments) call.arguments += budget.take(delta.function.arguments)
  }

  return {
    chunk(chunk) {
      const list = (chunk as { choices?: ChunkChoice[] } | null)?.choices
      if (!Array.isArray(list)) return
      seen = true
      for (const part of list) {
        const choice = choiceAt(part.index ?? 0)
        const delta = part.delta
        if (typeof delta?.content === 'string') choice.content += budget.take(delta.content)
        if (typeof delta?.reasoning_content === 'string')
          choice.reasoning_content = (choice.reasoning_content ?? '') + budget.take(delta.reasoning_content)
        if (Array.isArray(delta?.tool_calls)) for (const call of delta.tool_calls) addToolCall(choice, call)
        if (part.finish_reason) choice.finish_reason = part.finish_reason
      }
    },
    result: () => (seen ? { choices: [...choices.values()].sort((a, b) => a.index - b.index) } : null),
    get truncated() {
      return budget.truncated
    },
  }
}

interface MessageEvent {
  type?: string
  index?: number
  content_block?: { type?: string; id?: string; name?: string; text?: string; thinking?: string }
  delta?: {
    type?: string
    text?: string
    thinking?: string
    partial_json?: string
    stop_reason?: string | null
  }
}

type Block = AssembledMessage['content'][number]

export function captureMessageStream(maxChars: number): StreamCapture {
  const budget = new Budget(maxChars)
  const blocks = new Map<number, Block>()
  let stopReason: string | null = null
  let seen = false

  function start(index: number, block: NonNullable<MessageEvent['content_block']>) {
    if (block.type === 'text') blocks.set(index, { type: 'text', text: budget.take(block.text ?? '') })
    else if (block.type === 'thinking')
      blocks.set(index, { type: 'thinking', thinking: budget.take(block.thinking ?? '') })
    else if (block.type === 'tool_use')
      blocks.set(index, { type: 'tool_use', id: block.id ?? null, name: block.name ?? null, input: '' })
    else blocks.set(index, { type: block.type ?? 'unknown' })
  }

  function append(index: number, delta: NonNullable<MessageEvent['delta']>) {
    const block = blocks.get(index) as Record<string, unknown> | undefined
    if (!block) return
    if (delta.type === 'text_delta' && block.type === 'text') block.text += budget.take(delta.text ?? '')
    else if (delta.type === 'thinking_delta' && block.type === 'thinking')
      block.thinking += budget.take(delta.thinking ?? '')
    else if (delta.type === 'input_json_delta' && block.type === 'tool_use')
      block.input += budget.take(delta.partial_json ?? '')
  }

  return {
    chunk(chunk) {
      const event = chunk as MessageEvent | null
      if (!event || typeof event.type !== 'string') return
      seen = true
      if (event.type === 'content_block_start' && event.content_block && typeof event.index === 'number')
        start(event.index, event.content_block)
      else if (event.type === 'content_block_delta' && event.delta && typeof event.index === 'number')
        append(event.index, event.delta)
      else if (event.type === 'message_delta' && event.delta?.stop_reason)
        stopReason = event.delta.stop_reason
    },
    result: () =>
      seen
        ? {
            content: [...blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block),
            stop_reason: stopReason,
          }
        : null,
    get truncated() {
      return budget.truncated
    },
  }
}
