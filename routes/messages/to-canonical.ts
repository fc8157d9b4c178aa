// An Anthropic Messages request -> the canonical request, for models not served by a native
// Anthropic provider. Request fields: https://docs.anthropic.com/en/api/messages;
// canonical fields: https://platform.openai.com/docs/api-reference/chat/create.
import { GatewayError } from '../../plugins/gateway-error.js'
import type { AnthropicMessagesRequest, AnthropicTool } from '../../schemas/anthropic/messages.js'
import type { ChatCompletionRequest, ResponseFormat, Tool, ToolChoice } from '../../schemas/openai/chat.js'
import {
  type CanonicalTarget,
  toCanonicalMessages,
  toSystemMessage,
  untranslatable,
} from './to-canonical-content.js'

export type { CanonicalTarget } from './to-canonical-content.js'

/** Fields this module translates; anything else is listed by ignoredFields or refused below. */
const translated = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'metadata',
])

/**
 * Fields that change what the model may do and have no OpenAI-shaped counterpart: a 400, never a
 * silent drop. top_k: OpenAI has no top-k sampling. mcp_servers and container: tools that run on
 * Anthropic's servers.
 */
const refused: Record<string, string> = {
  top_k: 'top-k sampling (`top_k`)',
  mcp_servers: 'remote MCP servers (`mcp_servers`)',
  container: 'a code-execution container (`container`)',
}

/**
 * Top-level fields the translation does not use and leaves out of the canonical request. Claude
 * Code sends `context_management` (server-side context editing) on every request and cannot turn
 * it off, so refusing unknown fields would lock it out; the route names them in a response header
 * instead (x-anygate-ignored-params).
 */
export function ignoredFields(request: AnthropicMessagesRequest): string[] {
  return Object.keys(request).filter((key) => !translated.has(key) && !(key in refused))
}

/**
 * thinking.budget_tokens -> reasoning_effort, the inverse of the anthropic provider's table
 * (providers/anthropic/request-limits.ts: low 1,024, medium 4,096, high 16,384 tokens):
 * a budget below 4,096 is low, below 16,384 medium, anything larger high.
 * output_config.effort, when set, wins: it names the effort directly. Anthropic's `max` is above
 * OpenAI's top level, so it becomes `xhigh`
 * (https://platform.openai.com/docs/api-reference/chat/create#chat_create-reasoning_effort).
 */
export function toReasoningEffort(request: AnthropicMessagesRequest): string | undefined {
  const effort = outputConfigOf(request)?.effort
  if (typeof effort === 'string') return effort === 'max' ? 'xhigh' : effort
  const thinking = request.thinking
  if (thinking?.type !== 'enabled') return undefined
  const budget = thinking.budget_tokens ?? 0
  return budget < 4096 ? 'low' : budget < 16_384 ? 'medium' : 'high'
}

interface OutputConfig {
  effort?: string | null
  format?: { type?: string; schema?: Record<string, unknown> } | null
}

/** output_config (effort, structured-output format) is newer than the shared request schema. */
const outputConfigOf = (request: AnthropicMessagesRequest) =>
  (request as { output_config?: OutputConfig }).output_config ?? undefined

/**
 * output_config.format -> response_format json_schema. Anthropic always enforces the schema
 * (https://platform.claude.com/docs/en/build-with-claude/structured-outputs), hence `strict`.
 */
function toResponseFormat(
  request: AnthropicMessagesRequest,
  target: CanonicalTarget,
): ResponseFormat | undefined {
  const format = outputConfigOf(request)?.format
  if (!format) return undefined
  if (format.type !== 'json_schema' || !format.schema) {
    throw untranslatable('output_config.format', `an output format of type \`${format.type}\``, target)
  }
  return { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } }
}

/** Custom tools become functions; Anthropic's server tools (web_search_..., bash_...) run on its side. */
function toTools(tools: AnthropicTool[], target: CanonicalTarget): Tool[] {
  return tools.map((tool, i) => {
    if (tool.type !== undefined && tool.type !== 'custom') {
      throw untranslatable(`tools[${i}].type`, `Anthropic's server tool \`${tool.type}\``, target)
    }
    return {
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description !== undefined ? { description: tool.description } : {}),
        ...(tool.input_schema !== undefined ? { parameters: tool.input_schema } : {}),
      },
    }
  })
}

/** auto/any/tool/none -> auto/required/named function/none. */
function toToolChoice(choice: NonNullable<AnthropicMessagesRequest['tool_choice']>): ToolChoice {
  switch (choice.type) {
    case 'auto':
      return 'auto'
    case 'any':
      return 'required'
    case 'none':
      return 'none'
    case 'tool':
      return { type: 'function', function: { name: choice.name } }
  }
}

function rejectRefused(request: AnthropicMessagesRequest, target: CanonicalTarget): void {
  for (const [field, what] of Object.entries(refused)) {
    if ((request as Record<string, unknown>)[field] !== undefined) throw untranslatable(field, what, target)
  }
}

export function toCanonicalRequest(
  request: AnthropicMessagesRequest,
  target: CanonicalTarget,
): ChatCompletionRequest {
  rejectRefused(request, target)
  const messages = [...toSystemMessage(request.system), ...toCanonicalMessages(request.messages, target)]
  if (request.messages.length === 0) {
    throw new GatewayError(
      400,
      'messages: at least one message is required.',
      'invalid_request_error',
      'invalid_value',
      'messages',
    )
  }
  const stop = request.stop_sequences ?? []
  // The canonical schema (OpenAI's) allows four stop sequences; Anthropic allows more.
  if (stop.length > 4) throw untranslatable('stop_sequences', 'more than 4 stop sequences', target)
  const canonical: ChatCompletionRequest = {
    model: request.model,
    messages,
    // OpenAI's reasoning models take only max_completion_tokens; the ollama adapter renames it back.
    max_completion_tokens: request.max_tokens,
  }
  if (request.temperature !== undefined) canonical.temperature = request.temperature
  if (request.top_p !== undefined) canonical.top_p = request.top_p
  if (stop.length > 0) canonical.stop = stop
  // OpenAI refuses tool_choice and parallel_tool_calls without tools; with no tools they mean nothing.
  if (request.tools && request.tools.length > 0) {
    canonical.tools = toTools(request.tools, target)
    if (request.tool_choice) canonical.tool_choice = toToolChoice(request.tool_choice)
    const choice = request.tool_choice as { disable_parallel_tool_use?: boolean } | undefined
    if (choice?.disable_parallel_tool_use === true) canonical.parallel_tool_calls = false
  }
  const effort = toReasoningEffort(request)
  if (effort) canonical.reasoning_effort = effort
  const responseFormat = toResponseFormat(request, target)
  if (responseFormat) canonical.response_format = responseFormat
  const user = request.metadata?.user_id
  if (typeof user === 'string' && user !== '') canonical.user = user
  if (request.stream === true) {
    canonical.stream = true
    // The usage chunk carries output_tokens for message_delta; the adapters emit it when asked.
    canonical.stream_options = { include_usage: true }
  }
  return canonical
}
