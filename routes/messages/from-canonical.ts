// A canonical answer -> an Anthropic message (https://docs.anthropic.com/en/api/messages, response).
// The stream translation (stream-events.ts) shares the mappings below.
import { randomUUID } from 'node:crypto'
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicStopReason,
  AnthropicUsage,
} from '../../schemas/anthropic/messages.js'
import type { ChatCompletion, FinishReason, ToolCall } from '../../schemas/openai/chat.js'
import type { CompletionUsage } from '../../schemas/openai/usage.js'

const stopReasons = 'https://docs.anthropic.com/en/api/handling-stop-reasons'
const finishReasons = 'https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices'

/**
 * finish_reason -> stop_reason. OpenAI does not say whether a stop sequence matched, so `stop` is
 * always end_turn and stop_sequence stays null.
 */
export const stopReasonMap: Record<FinishReason, { stop: AnthropicStopReason; docs: string }> = {
  stop: { stop: 'end_turn', docs: `${stopReasons}#end-turn, ${finishReasons}` },
  length: { stop: 'max_tokens', docs: `${stopReasons}#max-tokens` },
  tool_calls: { stop: 'tool_use', docs: `${stopReasons}#tool-use` },
  function_call: { stop: 'tool_use', docs: `${stopReasons}#tool-use` },
  content_filter: { stop: 'refusal', docs: `${stopReasons}#refusal` },
}

export interface AnswerShape {
  /** The answer holds tool_use blocks. */
  toolUse: boolean
  /** The upstream sent a refusal (OpenAI's `refusal` field). */
  refused: boolean
}

/**
 * Some OpenAI-compatible servers finish a tool call with `stop`; Anthropic clients run tools only on
 * `tool_use`, so tool calls win. A refusal text is a refusal whatever the finish reason.
 */
export function toStopReason(
  finish: FinishReason | null | undefined,
  shape: AnswerShape,
): AnthropicStopReason {
  if (shape.refused) return 'refusal'
  const mapped = finish ? (stopReasonMap[finish]?.stop ?? 'end_turn') : 'end_turn'
  return shape.toolUse && mapped === 'end_turn' ? 'tool_use' : mapped
}

/**
 * OpenAI's prompt_tokens include cached input; Anthropic counts cache reads and writes apart from
 * input_tokens (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#tracking-cache-performance).
 */
export function toAnthropicUsage(usage: CompletionUsage | null | undefined): AnthropicUsage {
  const cacheRead = usage?.prompt_tokens_details?.cached_tokens ?? 0
  const cacheWrite = usage?.prompt_tokens_details?.cache_write_tokens ?? 0
  const thinking = usage?.completion_tokens_details?.reasoning_tokens
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    // Reasoning tokens are part of output_tokens in both APIs.
    ...(typeof thinking === 'number' ? { output_tokens_details: { thinking_tokens: thinking } } : {}),
  }
}

/** `msg_` + the upstream id (without OpenAI's `chatcmpl-`), so logs on both sides can be matched. */
export function toMessageId(upstreamId: string | undefined): string {
  if (!upstreamId) return `msg_${randomUUID().replaceAll('-', '')}`
  if (upstreamId.startsWith('msg_')) return upstreamId
  return `msg_${upstreamId.replace(/^chatcmpl-/, '')}`
}

/**
 * tool_use.input must be an object. Arguments that are not a JSON object are kept as
 * `{"_raw": "<text>"}` rather than failing the whole answer: the client's tool runner rejects the
 * input, and the model sees that error and can correct itself. Empty arguments are `{}`.
 */
export function toToolInput(text: string): Record<string, unknown> {
  if (text.trim() === '') return {}
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>
    }
  } catch {}
  return { _raw: text }
}

function toToolUse(call: ToolCall): AnthropicContentBlock {
  if (call.type === 'function') {
    return {
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toToolInput(call.function.arguments),
    }
  }
  return { type: 'tool_use', id: call.id, name: call.custom.name, input: { _raw: call.custom.input } }
}

/**
 * Reasoning text from OpenAI-compatible servers: `reasoning_content` (DeepSeek, vLLM and the
 * anthropic adapter) or `reasoning` (Ollama, OpenRouter). Neither is in OpenAI's own schema.
 */
export function reasoningOf(value: object): string | undefined {
  const { reasoning_content, reasoning } = value as { reasoning_content?: unknown; reasoning?: unknown }
  if (typeof reasoning_content === 'string' && reasoning_content !== '') return reasoning_content
  if (typeof reasoning === 'string' && reasoning !== '') return reasoning
  return undefined
}

/**
 * Blocks in Anthropic's order: thinking, text, tool_use. The thinking block has an empty signature:
 * only Anthropic signs thinking, and a client sending it back is served by translation again,
 * which drops it (to-canonical-content.ts).
 */
export function toAnthropicMessage(completion: ChatCompletion, provider: string): AnthropicMessage {
  const choice = completion.choices?.[0]
  if (!choice) throw upstreamBadResponse(provider, 'the completion had no choices')
  const message = choice.message
  const content: AnthropicContentBlock[] = []
  const reasoning = reasoningOf(message)
  if (reasoning) content.push({ type: 'thinking', thinking: reasoning, signature: '' })
  if (typeof message.content === 'string' && message.content !== '') {
    content.push({ type: 'text', text: message.content })
  }
  const refused = typeof message.refusal === 'string' && message.refusal !== ''
  if (refused) content.push({ type: 'text', text: message.refusal as string })
  for (const call of message.tool_calls ?? []) content.push(toToolUse(call))
  const toolUse = (message.tool_calls ?? []).length > 0
  return {
    id: toMessageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: toStopReason(choice.finish_reason, { toolUse, refused }),
    stop_sequence: null,
    usage: toAnthropicUsage(completion.usage),
  }
}
