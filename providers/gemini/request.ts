// Canonical chat request -> Gemini generateContent body. Pure: nothing here does I/O.
// Request body: https://ai.google.dev/api/generate-content#request-body
// GenerationConfig: https://ai.google.dev/api/generate-content#generationconfig
import type { ChatCompletionRequest, Tool, ToolChoice } from '../../schemas/openai/chat.js'
import { toPathSegment } from '../shared/path-segment.js'
import { invalidInput, unsupportedInput } from './input-errors.js'
import { toGeminiConversation } from './request-messages.js'
import { toGeminiSchema } from './schema-cleaner.js'
import type {
  GeminiFunctionDeclaration,
  GeminiGenerateContentRequest,
  GeminiGenerationConfig,
  GeminiSchema,
  GeminiThinkingConfig,
  GeminiToolConfig,
} from './wire.js'

export interface GeminiRequestOptions {
  /** The provider's config name, for error messages. */
  provider: string
}

/**
 * reasoning_effort -> thinkingBudget, after the table Google's OpenAI-compatible endpoint documents
 * (https://ai.google.dev/gemini-api/docs/openai#thinking): none turns thinking off, low/medium/high
 * are 1K/8K/24K-token budgets; minimal, which that table does not list, is taken as low. Thought
 * summaries are asked for (includeThoughts) whenever thinking is on, so they come back as
 * `reasoning_content` (https://ai.google.dev/gemini-api/docs/thinking#summaries).
 */
export const thinkingBudgets: Readonly<Record<string, number>> = {
  none: 0,
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24576,
}

const present = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined

/** `models/{id}` or `tunedModels/{id}`: the config may name the model either way, or bare. */
export function modelResource(model: string): string {
  const tuned = /^tunedModels\/(.+)$/.exec(model)
  if (tuned) return `tunedModels/${toPathSegment(tuned[1]!)}`
  return `models/${toPathSegment(model.replace(/^models\//, ''))}`
}

/** The path under base_url for a model method, e.g. `/v1beta/models/gemini-2.0-flash:generateContent`. */
export function geminiPath(model: string, method: string): string {
  return `/v1beta/${modelResource(model)}:${method}`
}

function toDeclarations(tools: Tool[], provider: string): GeminiFunctionDeclaration[] {
  return tools.map((tool, i) => {
    if (tool.type !== 'function') {
      throw unsupportedInput(provider, `tools[${i}].type`, 'custom tools (function tools only)')
    }
    const { name, description, parameters } = tool.function
    const declaration: GeminiFunctionDeclaration = { name }
    if (description) declaration.description = description
    if (parameters) {
      const schema = toGeminiSchema(parameters, { provider, param: `tools[${i}].function.parameters` })
      // A function without parameters leaves `parameters` unset
      // (https://ai.google.dev/api/caching#FunctionDeclaration); an OBJECT with no properties is refused.
      if (!isEmptyObjectSchema(schema)) declaration.parameters = schema
    }
    return declaration
  })
}

function isEmptyObjectSchema(schema: GeminiSchema): boolean {
  const { type, properties, required, description, title, ...rest } = schema
  const noProperties = properties === undefined || Object.keys(properties as object).length === 0
  const noRequired = required === undefined || (Array.isArray(required) && required.length === 0)
  return type === 'OBJECT' && noProperties && noRequired && Object.keys(rest).length === 0
}

/** tool_choice -> functionCallingConfig (https://ai.google.dev/api/caching#FunctionCallingConfig). */
function toToolConfig(choice: ToolChoice, names: string[], provider: string): GeminiToolConfig {
  const known = (name: string, param: string) => {
    if (!names.includes(name)) throw invalidInput(provider, param, `names a function not in tools: "${name}"`)
    return name
  }
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } }
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } }
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } }
  if (choice.type === 'function') {
    const name = known(choice.function.name, 'tool_choice.function.name')
    return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } }
  }
  if (choice.type === 'allowed_tools') {
    const allowed = choice.allowed_tools as { mode?: unknown; tools?: unknown }
    const tools = Array.isArray(allowed.tools) ? (allowed.tools as { function?: { name?: unknown } }[]) : []
    const allowedNames = tools.map((tool, i) =>
      known(String(tool.function?.name ?? ''), `tool_choice.allowed_tools.tools[${i}].function.name`),
    )
    // ANY: a call to one of them; VALIDATED: a call to one of them or text, OpenAI's "auto".
    if (allowed.mode === 'required') {
      return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: allowedNames } }
    }
    if (allowed.mode === 'auto') {
      return { functionCallingConfig: { mode: 'VALIDATED', allowedFunctionNames: allowedNames } }
    }
    throw invalidInput(provider, 'tool_choice.allowed_tools.mode', 'must be "auto" or "required"')
  }
  throw unsupportedInput(provider, 'tool_choice.type', 'custom tool choices (function tools only)')
}

function toGenerationConfig(request: ChatCompletionRequest, provider: string): GeminiGenerationConfig {
  const config: GeminiGenerationConfig = {}
  if (present(request.temperature)) config.temperature = request.temperature
  if (present(request.top_p)) config.topP = request.top_p
  const maxTokens = request.max_completion_tokens ?? request.max_tokens
  if (present(maxTokens)) config.maxOutputTokens = maxTokens
  if (present(request.stop))
    config.stopSequences = typeof request.stop === 'string' ? [request.stop] : request.stop
  if (present(request.n)) config.candidateCount = request.n
  if (present(request.seed)) config.seed = request.seed
  if (present(request.presence_penalty)) config.presencePenalty = request.presence_penalty
  if (present(request.frequency_penalty)) config.frequencyPenalty = request.frequency_penalty

  const format = request.response_format
  if (format?.type === 'json_object') config.responseMimeType = 'application/json'
  if (format?.type === 'json_schema') {
    // Structured output: https://ai.google.dev/gemini-api/docs/structured-output
    config.responseMimeType = 'application/json'
    const schema = format.json_schema.schema
    if (schema) {
      config.responseSchema = toGeminiSchema(schema, {
        provider,
        param: 'response_format.json_schema.schema',
      })
    }
  }

  if (present(request.reasoning_effort)) {
    const budget = thinkingBudgets[request.reasoning_effort]
    if (budget === undefined) {
      throw invalidInput(
        provider,
        'reasoning_effort',
        `must be one of ${Object.keys(thinkingBudgets).join(', ')}; got "${request.reasoning_effort}"`,
      )
    }
    const thinking: GeminiThinkingConfig = { thinkingBudget: budget }
    if (budget > 0) thinking.includeThoughts = true
    config.thinkingConfig = thinking
  }
  return config
}

/** Parameters with no Gemini counterpart: refused, so the client never gets an answer it didn't ask for. */
function refuseUnsupported(request: ChatCompletionRequest, provider: string): void {
  if (request.logprobs === true || (present(request.top_logprobs) && request.top_logprobs > 0)) {
    throw unsupportedInput(
      provider,
      request.logprobs ? 'logprobs' : 'top_logprobs',
      "logprobs (Gemini's responseLogprobs is not mapped by this gateway)",
    )
  }
  if (present(request.logit_bias) && Object.keys(request.logit_bias).length > 0) {
    throw unsupportedInput(provider, 'logit_bias', 'logit_bias (Gemini has no token biasing)')
  }
  if (request.parallel_tool_calls === false) {
    throw unsupportedInput(
      provider,
      'parallel_tool_calls',
      'parallel_tool_calls: false (Gemini may always call several)',
    )
  }
}

/**
 * The generateContent body. `user`, `metadata`, `store` and other fields with no effect on the
 * answer are not sent: the Gemini API has no field for them.
 */
export function toGeminiRequest(
  request: ChatCompletionRequest,
  options: GeminiRequestOptions,
): GeminiGenerateContentRequest {
  const { provider } = options
  refuseUnsupported(request, provider)
  const body: GeminiGenerateContentRequest = toGeminiConversation(request.messages, provider)
  const tools = request.tools ?? []
  if (tools.length > 0) body.tools = [{ functionDeclarations: toDeclarations(tools, provider) }]
  if (request.tool_choice !== undefined) {
    const names = tools.flatMap((tool) => (tool.type === 'function' ? [tool.function.name] : []))
    body.toolConfig = toToolConfig(request.tool_choice, names, provider)
  }
  const generationConfig = toGenerationConfig(request, provider)
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig
  return body
}
