// Anthropic Message -> canonical ChatCompletion. Pure.
// Response shape: https://platform.claude.com/docs/en/api/messages (response body)
import type { AssistantResponseMessage, ChatCompletion, ToolCall } from '../../schemas/openai/chat.js'
import type { CompletionUsage } from '../../schemas/openai/usage.js'
import { toFinishReason } from './finish-reason.js'
import type { AnthropicMessage, AnthropicUsageWire } from './wire.js'

/** A signed thinking block as the client gets it, to send back unchanged on a later turn. */
export type ThinkingBlockOut =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }

/**
 * The assistant message with Anthropic's extended thinking on it:
 * - `reasoning_content`: the thinking text, the field DeepSeek, vLLM and others use for reasoning;
 * - `thinking_blocks`: the blocks with their signatures (and redacted ones), to send back on the
 *   assistant message when a thinking turn called tools (request-messages.ts restores them).
 */
export type AnthropicChatMessage = AssistantResponseMessage & {
  reasoning_content?: string
  thinking_blocks?: ThinkingBlockOut[]
}

export interface ResponseOptions {
  /** The response_format json_schema tool (request.ts answerToolName): its input is the answer. */
  answerTool: string | null
  /** Unix seconds; Anthropic messages carry no timestamp. */
  created: number
}

/**
 * Anthropic counts cached input apart from input_tokens; OpenAI's prompt_tokens is all input, with
 * the cached share in prompt_tokens_details
 * (https://platform.claude.com/docs/en/build-with-claude/prompt-caching#tracking-cache-performance).
 */
export function toUsage(usage: Partial<AnthropicUsageWire> | undefined): CompletionUsage {
  const input = usage?.input_tokens ?? 0
  const cacheRead = usage?.cache_read_input_tokens ?? 0
  const cacheWrite = usage?.cache_creation_input_tokens ?? 0
  const prompt = input + cacheRead + cacheWrite
  const completion = usage?.output_tokens ?? 0
  const out: CompletionUsage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_write_tokens: cacheWrite },
  }
  const thinking = usage?.output_tokens_details?.thinking_tokens
  if (typeof thinking === 'number') out.completion_tokens_details = { reasoning_tokens: thinking }
  return out
}

export function fromAnthropicMessage(message: AnthropicMessage, options: ResponseOptions): ChatCompletion {
  let text = ''
  let hasText = false
  let reasoning = ''
  const toolCalls: ToolCall[] = []
  const thinkingBlocks: ThinkingBlockOut[] = []
  for (const block of message.content) {
    switch (block.type) {
      case 'text':
        text += block.text
        hasText = true
        break
      case 'tool_use':
        if (block.name === options.answerTool) {
          text += JSON.stringify(block.input ?? {})
          hasText = true
        } else {
          toolCalls.push({
            id: block.id,
            type: 'function',
            function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
          })
        }
        break
      case 'thinking':
        reasoning += block.thinking
        thinkingBlocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature ?? '' })
        break
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: block.data })
        break
      // Other blocks (server tool results, ...) answer features this adapter never requests.
    }
  }
  const assistant: AnthropicChatMessage = {
    role: 'assistant',
    // OpenAI's shape: null beside tool calls without text, a string otherwise (empty included).
    content: hasText || toolCalls.length === 0 ? text : null,
    refusal: null,
  }
  if (toolCalls.length > 0) assistant.tool_calls = toolCalls
  if (thinkingBlocks.length > 0) {
    assistant.reasoning_content = reasoning
    assistant.thinking_blocks = thinkingBlocks
  }
  return {
    id: message.id,
    object: 'chat.completion',
    created: options.created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: assistant,
        finish_reason: toFinishReason(message.stop_reason, options.answerTool !== null),
        logprobs: null,
      },
    ],
    usage: toUsage(message.usage),
  }
}
