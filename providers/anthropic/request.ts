// Canonical (OpenAI) chat request -> Anthropic Messages request. Pure: no I/O, throws a 400 that
// names the field and the provider for anything Anthropic cannot do as asked.
// Request fields: https://platform.claude.com/docs/en/api/messages
import type { ChatCompletionRequest, ResponseFormat, Tool, ToolChoice } from '../../schemas/openai/chat.js'
import { invalidInput, unsupportedInput } from './input-errors.js'
import { defaultMaxTokens, maxTemperature, minTopPWithThinking, thinkingBudgets } from './request-limits.js'
import { toAnthropicConversation } from './request-messages.js'
import type {
  AnthropicMessagesRequest,
  AnthropicTextBlock,
  AnthropicTool,
  AnthropicToolChoice,
} from './wire.js'

export interface AnthropicRequestOptions {
  /** The provider's config name, for error messages. */
  provider: string
  stream: boolean
  /** providers.<name>.options.default_max_tokens */
  defaultMaxTokens?: number
}

/** `strict` is Anthropic's strict tool use: https://platform.claude.com/docs/en/build-with-claude/structured-outputs */
type ToolDefinition = AnthropicTool & { strict?: boolean }

/**
 * json_object has no Anthropic counterpart. It degrades to this system instruction: the answer is
 * JSON as far as the model follows instructions, not enforced. Use json_schema for a guarantee.
 */
export const jsonObjectInstruction =
  'Answer with a single valid JSON object and nothing else: no prose, no Markdown code fences.'

/**
 * response_format json_schema becomes a tool named after the schema, forced with tool_choice, whose
 * input is the answer: Anthropic's JSON-output pattern with a forced tool
 * (https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use).
 * response.ts and stream.ts turn that tool call back into message content. Null without one.
 */
export function answerToolName(request: ChatCompletionRequest): string | null {
  const format = request.response_format
  return format?.type === 'json_schema' ? format.json_schema.name : null
}

const isSet = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined

/** OpenAI parameters with no Anthropic counterpart: sending them on silently would mislead. */
function rejectUnsupported(request: ChatCompletionRequest, provider: string): void {
  const extra = request as Record<string, unknown>
  if (isSet(request.n) && request.n > 1) {
    throw unsupportedInput(provider, 'n', 'n greater than 1 (one answer per call)')
  }
  if (request.logprobs === true) throw unsupportedInput(provider, 'logprobs', 'logprobs')
  if (isSet(request.top_logprobs) && request.top_logprobs > 0) {
    throw unsupportedInput(provider, 'top_logprobs', 'logprobs')
  }
  for (const field of ['presence_penalty', 'frequency_penalty'] as const) {
    if (isSet(request[field]) && request[field] !== 0) throw unsupportedInput(provider, field, field)
  }
  if (isSet(request.logit_bias) && Object.keys(request.logit_bias).length > 0) {
    throw unsupportedInput(provider, 'logit_bias', 'logit_bias')
  }
  if (isSet(request.seed)) throw unsupportedInput(provider, 'seed', 'seed (no deterministic sampling)')
  if (isSet(extra.audio)) throw unsupportedInput(provider, 'audio', 'audio output')
  if (Array.isArray(extra.modalities) && extra.modalities.some((m) => m !== 'text')) {
    throw unsupportedInput(provider, 'modalities', 'output modalities other than text')
  }
  if (isSet(extra.prediction)) throw unsupportedInput(provider, 'prediction', 'predicted outputs')
}

function toAnthropicTools(tools: Tool[], provider: string): ToolDefinition[] {
  return tools.map((tool, i) => {
    if (tool.type !== 'function') {
      throw unsupportedInput(provider, `tools[${i}].type`, `tools of type ${tool.type}`)
    }
    const { name, description, parameters, strict } = tool.function
    return toToolDefinition(
      name,
      description,
      parameters,
      strict,
      provider,
      `tools[${i}].function.parameters`,
    )
  })
}

function toToolDefinition(
  name: string,
  description: string | undefined,
  schema: Record<string, unknown> | undefined,
  strict: boolean | null | undefined,
  provider: string,
  param: string,
): ToolDefinition {
  // Anthropic requires an object schema (input_schema.type "object"); no schema means no arguments.
  if (schema && schema.type !== undefined && schema.type !== 'object') {
    throw invalidInput(provider, param, 'must describe an object (Anthropic tool input is an object)')
  }
  const definition: ToolDefinition = {
    name,
    input_schema: { type: 'object', ...(schema ?? { properties: {} }) },
  }
  if (description !== undefined) definition.description = description
  if (strict === true) definition.strict = true
  return definition
}

/**
 * tool_choice auto/none/required/named -> auto/none/any/tool, and parallel_tool_calls: false ->
 * disable_parallel_tool_use (https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use#forcing-tool-use,
 * "#parallel-tool-use").
 */
function toToolChoice(
  choice: ToolChoice | undefined,
  parallel: boolean | undefined,
  hasTools: boolean,
  provider: string,
): AnthropicToolChoice | undefined {
  const forcing = choice === 'required' || (typeof choice === 'object' && choice.type === 'function')
  if (!hasTools) {
    if (forcing)
      throw invalidInput(provider, 'tool_choice', 'forces a tool call but the request has no tools')
    return undefined
  }
  let mapped: AnthropicToolChoice | undefined
  if (choice === undefined) mapped = parallel === false ? { type: 'auto' } : undefined
  else if (choice === 'auto') mapped = { type: 'auto' }
  else if (choice === 'none') mapped = { type: 'none' }
  else if (choice === 'required') mapped = { type: 'any' }
  else if (choice.type === 'function') mapped = { type: 'tool', name: choice.function.name }
  else throw unsupportedInput(provider, 'tool_choice', `tool_choice of type ${choice.type}`)
  if (mapped && mapped.type !== 'none' && parallel === false) mapped.disable_parallel_tool_use = true
  return mapped
}

function toAnswerTool(
  format: Extract<ResponseFormat, { type: 'json_schema' }>,
  provider: string,
): ToolDefinition {
  const { name, description, schema, strict } = format.json_schema
  return toToolDefinition(
    name,
    description ?? 'Give the final answer as this tool input.',
    schema,
    strict,
    provider,
    'response_format.json_schema.schema',
  )
}

function toThinking(
  request: ChatCompletionRequest,
  provider: string,
): { type: 'enabled'; budget_tokens: number } | undefined {
  const effort = request.reasoning_effort
  if (!isSet(effort)) return undefined
  if (!(effort in thinkingBudgets)) {
    const known = Object.keys(thinkingBudgets).join(', ')
    throw invalidInput(provider, 'reasoning_effort', `must be one of ${known}; got "${effort}"`)
  }
  const budget = thinkingBudgets[effort]
  if (budget === null || budget === undefined) return undefined
  // Extended thinking's feature compatibility: fixed temperature, top_p >= 0.95, no forced tool.
  const why = 'with reasoning_effort (Anthropic extended thinking)'
  if (isSet(request.temperature) && request.temperature !== 1) {
    throw unsupportedInput(provider, 'temperature', `a temperature other than 1 ${why}`)
  }
  if (isSet(request.top_p) && request.top_p < minTopPWithThinking) {
    throw unsupportedInput(provider, 'top_p', `top_p below ${minTopPWithThinking} ${why}`)
  }
  const choice = request.tool_choice
  if (choice === 'required' || (typeof choice === 'object' && choice.type === 'function')) {
    throw unsupportedInput(provider, 'tool_choice', `forced tool calls ${why}`)
  }
  if (request.response_format?.type === 'json_schema') {
    throw unsupportedInput(provider, 'response_format', `json_schema ${why}: it relies on a forced tool call`)
  }
  return { type: 'enabled', budget_tokens: budget }
}

function toMaxTokens(
  request: ChatCompletionRequest,
  model: string,
  budget: number,
  options: AnthropicRequestOptions,
) {
  const param = isSet(request.max_completion_tokens) ? 'max_completion_tokens' : 'max_tokens'
  const asked = request.max_completion_tokens ?? request.max_tokens
  // Without a client limit the thinking budget comes on top of the default, leaving room to answer.
  if (!isSet(asked)) return defaultMaxTokens(model, options.defaultMaxTokens) + budget
  // Thinking tokens count against max_tokens there as reasoning tokens do in OpenAI's limit.
  if (budget > 0 && asked <= budget) {
    throw invalidInput(
      options.provider,
      param,
      `must be greater than the thinking budget of reasoning_effort "${request.reasoning_effort}" (${budget} tokens)`,
    )
  }
  return asked
}

export function toAnthropicRequest(
  request: ChatCompletionRequest,
  model: string,
  options: AnthropicRequestOptions,
): AnthropicMessagesRequest {
  const { provider } = options
  rejectUnsupported(request, provider)
  if (isSet(request.temperature) && request.temperature > maxTemperature) {
    throw invalidInput(
      provider,
      'temperature',
      `must be between 0 and ${maxTemperature} (Anthropic's range); got ${request.temperature}`,
    )
  }
  const { system, messages } = toAnthropicConversation(request.messages, provider)
  const format = request.response_format
  if (format?.type === 'json_object') system.push({ type: 'text', text: jsonObjectInstruction })

  const thinking = toThinking(request, provider)
  const body: AnthropicMessagesRequest = {
    model,
    max_tokens: toMaxTokens(request, model, thinking?.budget_tokens ?? 0, options),
    messages,
  }
  if (system.length > 0) body.system = toSystem(system)

  const tools = request.tools ?? []
  if (format?.type === 'json_schema') {
    if (tools.length > 0 || request.tool_choice !== undefined) {
      throw unsupportedInput(
        provider,
        'response_format',
        'json_schema together with tools or tool_choice (the schema is enforced through a forced tool call)',
      )
    }
    body.tools = [toAnswerTool(format, provider)]
    body.tool_choice = { type: 'tool', name: format.json_schema.name }
  } else {
    if (tools.length > 0) body.tools = toAnthropicTools(tools, provider)
    const choice = toToolChoice(request.tool_choice, request.parallel_tool_calls, tools.length > 0, provider)
    if (choice) body.tool_choice = choice
  }

  if (thinking) body.thinking = thinking
  if (isSet(request.temperature)) body.temperature = request.temperature
  if (isSet(request.top_p)) body.top_p = request.top_p
  if (isSet(request.stop))
    body.stop_sequences = typeof request.stop === 'string' ? [request.stop] : request.stop
  if (request.user) body.metadata = { user_id: request.user }
  if (options.stream) body.stream = true
  return body
}

/** One plain block reads as a string, Anthropic's common form; several stay blocks, in order. */
function toSystem(blocks: AnthropicTextBlock[]): string | AnthropicTextBlock[] {
  const [only] = blocks
  return blocks.length === 1 && only && only.cache_control === undefined ? only.text : blocks
}
