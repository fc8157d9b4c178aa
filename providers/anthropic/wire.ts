// Anthropic wire types. The Messages shapes are the ones the inbound /v1/messages route validates
// (schemas/anthropic/messages.ts), reused here so both directions speak one definition.
// Reference: https://platform.claude.com/docs/en/api/messages
import type { AnthropicContentBlock, AnthropicUsage } from '../../schemas/anthropic/messages.js'

export type {
  AnthropicContentBlock,
  AnthropicMessage,
  AnthropicMessageParam,
  AnthropicMessagesRequest,
  AnthropicStreamEvent,
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicUsage,
} from '../../schemas/anthropic/messages.js'

export type AnthropicTextBlock = Extract<AnthropicContentBlock, { type: 'text' }>
export type AnthropicImageBlock = Extract<AnthropicContentBlock, { type: 'image' }>
export type AnthropicToolUseBlock = Extract<AnthropicContentBlock, { type: 'tool_use' }>
export type AnthropicToolResultBlock = Extract<AnthropicContentBlock, { type: 'tool_result' }>
export type AnthropicThinkingBlock = Extract<AnthropicContentBlock, { type: 'thinking' }>
export type AnthropicRedactedThinkingBlock = Extract<AnthropicContentBlock, { type: 'redacted_thinking' }>

/** Usage as the newer API versions report it: thinking tokens broken out of output_tokens. */
export type AnthropicUsageWire = AnthropicUsage & {
  output_tokens_details?: { thinking_tokens?: number } | null
}

/** Every error body: https://platform.claude.com/docs/en/api/errors#error-shapes */
export interface AnthropicErrorBody {
  type: 'error'
  error: { type: string; message: string }
  request_id?: string
}

/** Options of a provider entry of type anthropic (`providers.<name>.options`). */
export interface AnthropicOptions {
  /** The anthropic-version header; https://platform.claude.com/docs/en/api/versioning */
  anthropic_version: string
  /** max_tokens when the client sets none; otherwise the table in request-limits.ts decides. */
  default_max_tokens?: number
}
