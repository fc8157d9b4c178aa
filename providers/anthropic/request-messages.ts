// OpenAI messages -> Anthropic `system` + alternating user/assistant turns.
// https://platform.claude.com/docs/en/api/messages (system, messages) and, for tools,
// https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use#handling-tool-use-and-tool-result-content-blocks
import type { ChatMessage, ContentPart, ToolCall } from '../../schemas/openai/chat.js'
import { invalidInput, unsupportedInput } from './input-errors.js'
import { type PartContext, toContentBlocks } from './request-content.js'
import type {
  AnthropicContentBlock,
  AnthropicMessageParam,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
} from './wire.js'

export interface AnthropicConversation {
  /** system and developer messages, in order, wherever they stood in the conversation. */
  system: AnthropicTextBlock[]
  messages: AnthropicMessageParam[]
}

type Turn = { role: 'user' | 'assistant'; content: AnthropicContentBlock[] }

/**
 * Anthropic wants user and assistant turns to alternate, and tool results inside a user turn; so
 * consecutive blocks of one role join one turn, in order. A message left without blocks (empty
 * text) adds nothing, so its neighbours may join.
 */
function appendTurn(turns: Turn[], role: Turn['role'], blocks: AnthropicContentBlock[]): void {
  if (blocks.length === 0) return
  const last = turns.at(-1)
  if (last?.role === role) last.content.push(...blocks)
  else turns.push({ role, content: [...blocks] })
}

/** A turn that is one plain text block reads as a string, the form Anthropic's examples use. */
function toMessageParam(turn: Turn): AnthropicMessageParam {
  const [only] = turn.content
  if (turn.content.length === 1 && only?.type === 'text' && only.cache_control === undefined) {
    return { role: turn.role, content: only.text }
  }
  return { role: turn.role, content: turn.content }
}

function toToolUseBlock(call: ToolCall, provider: string, param: string): AnthropicToolUseBlock {
  if (call.type !== 'function') {
    throw unsupportedInput(provider, `${param}.type`, `tool calls of type ${call.type}`)
  }
  const text = call.function.arguments.trim()
  let input: unknown = {}
  // An empty string is how some models spell "no arguments".
  if (text !== '') {
    try {
      input = JSON.parse(text)
    } catch {
      throw invalidInput(provider, `${param}.function.arguments`, 'is not valid JSON')
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidInput(provider, `${param}.function.arguments`, 'must be a JSON object (a tool_use input)')
  }
  return { type: 'tool_use', id: call.id, name: call.function.name, input }
}

/**
 * Our responses carry the signed thinking blocks as `thinking_blocks` (see response.ts); sent back
 * on an assistant message they are restored as they were, which Anthropic requires when a thinking
 * turn called tools (extended-thinking, "Preserving thinking blocks").
 */
function toThinkingBlocks(value: unknown, provider: string, param: string): AnthropicContentBlock[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw invalidInput(provider, param, 'must be an array of thinking blocks')
  return value.map((block: unknown, k) => {
    const b = (block ?? {}) as Record<string, unknown>
    if (b.type === 'thinking' && typeof b.thinking === 'string' && typeof b.signature === 'string') {
      return { type: 'thinking', thinking: b.thinking, signature: b.signature }
    }
    if (b.type === 'redacted_thinking' && typeof b.data === 'string') {
      return { type: 'redacted_thinking', data: b.data }
    }
    throw invalidInput(
      provider,
      `${param}[${k}]`,
      'must be {type: "thinking", thinking, signature} or {type: "redacted_thinking", data}',
    )
  })
}

function toToolResultBlock(
  message: Extract<ChatMessage, { role: 'tool' }>,
  ctx: PartContext,
): AnthropicToolResultBlock {
  const block: AnthropicToolResultBlock = { type: 'tool_result', tool_use_id: message.tool_call_id }
  if (typeof message.content === 'string') {
    if (message.content !== '') block.content = message.content
    return block
  }
  const parts = toContentBlocks(message.content as ContentPart[], 'tool', ctx)
  if (parts.length > 0) block.content = parts as NonNullable<AnthropicToolResultBlock['content']>
  return block
}

export function toAnthropicConversation(messages: ChatMessage[], provider: string): AnthropicConversation {
  const system: AnthropicTextBlock[] = []
  const turns: Turn[] = []
  messages.forEach((message, i) => {
    const at = `messages[${i}]`
    const ctx: PartContext = { provider, param: `${at}.content` }
    // Anthropic has no per-message author name; dropping it would change who said what.
    const named = message.role !== 'function' && 'name' in message && typeof message.name === 'string'
    if (named && message.name !== '') {
      throw unsupportedInput(provider, `${at}.name`, 'message names')
    }
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...(toContentBlocks(message.content, 'system', ctx) as AnthropicTextBlock[]))
        return
      case 'user':
        appendTurn(turns, 'user', toContentBlocks(message.content, 'user', ctx))
        return
      case 'assistant': {
        if (message.function_call) {
          throw unsupportedInput(provider, `${at}.function_call`, 'function_call (use tool_calls)')
        }
        const extra = message as { thinking_blocks?: unknown; refusal?: string | null }
        const blocks = [
          ...toThinkingBlocks(extra.thinking_blocks, provider, `${at}.thinking_blocks`),
          ...toContentBlocks(message.content, 'assistant', ctx),
          ...toContentBlocks(extra.refusal ?? null, 'assistant', { provider, param: `${at}.refusal` }),
          ...(message.tool_calls ?? []).map((call, k) =>
            toToolUseBlock(call, provider, `${at}.tool_calls[${k}]`),
          ),
        ]
        appendTurn(turns, 'assistant', blocks)
        return
      }
      case 'tool':
        appendTurn(turns, 'user', [toToolResultBlock(message, ctx)])
        return
      case 'function':
        throw unsupportedInput(provider, `${at}.role`, 'function messages (use tool messages)')
      default:
        throw unsupportedInput(
          provider,
          `${at}.role`,
          `messages of role ${(message as { role: string }).role}`,
        )
    }
  })
  if (turns.length === 0) {
    throw invalidInput(provider, 'messages', 'has no user or assistant content; Anthropic needs at least one')
  }
  return { system, messages: turns.map(toMessageParam) }
}
