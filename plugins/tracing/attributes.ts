// Span names and attributes, as pure functions of what the gateway knows. HTTP names are the stable
// semantic conventions; the gen_ai.* ones are still incubating, so (as the semantic-conventions
// package advises for its incubating entry point) they are copied here rather than imported.
// Nothing here reads a request body beyond the model name, nor any header but user-agent: prompts,
// completions and keys never become attributes.
import type { Attributes } from '@opentelemetry/api'
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions'
import type { InferenceKind, TokenUsage } from '../call-record.js'

export { ATTR_ERROR_TYPE }

// https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name'
/** Deprecated in favour of gen_ai.provider.name; both are set while backends still read the old one. */
export const GEN_AI_SYSTEM = 'gen_ai.system'
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name'
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model'
export const GEN_AI_RESPONSE_MODEL = 'gen_ai.response.model'
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens'
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens'
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = 'gen_ai.usage.cache_read.input_tokens'

/**
 * gen_ai.provider.name (and gen_ai.system) by provider type: the semantic conventions' well-known
 * values, where one exists. An `openai` provider pointed at another OpenAI-compatible server stays
 * `openai`, as the conventions ask of a client that speaks OpenAI's API.
 */
const genAiProviderNames: Record<string, string> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  // The conventions replaced az.ai.openai with azure.ai.openai.
  azure: 'azure.ai.openai',
  ollama: 'ollama',
  mock: 'anygate.mock',
}

export function genAiProviderName(providerType: string | undefined): string {
  if (providerType === undefined) return '_OTHER'
  return genAiProviderNames[providerType] ?? providerType
}

/** gen_ai.operation.name: /v1/messages is a chat as much as /v1/chat/completions is. */
export function genAiOperation(kind: InferenceKind): 'chat' | 'embeddings' {
  return kind === 'embeddings' ? 'embeddings' : 'chat'
}

/** `POST /v1/chat/completions`; the method alone for a request no route matched (low cardinality). */
export function serverSpanName(method: string, route: string | undefined): string {
  return route ? `${method} ${route}` : method
}

export interface IncomingRequest {
  method: string
  url: string
  protocol: string
  hostname: string
  port: number | null
  route: string | undefined
  httpVersion: string
  userAgent: string | undefined
}

export function serverSpanAttributes(request: IncomingRequest): Attributes {
  const query = request.url.indexOf('?')
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: request.method,
    [ATTR_URL_PATH]: query < 0 ? request.url : request.url.slice(0, query),
    [ATTR_URL_SCHEME]: request.protocol,
    [ATTR_SERVER_ADDRESS]: request.hostname,
    [ATTR_NETWORK_PROTOCOL_VERSION]: request.httpVersion,
  }
  if (request.port !== null) attributes[ATTR_SERVER_PORT] = request.port
  if (request.route !== undefined) attributes[ATTR_HTTP_ROUTE] = request.route
  if (request.userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = request.userAgent
  return attributes
}

export function usageAttributes(usage: TokenUsage): Attributes {
  const attributes: Attributes = {
    [GEN_AI_USAGE_INPUT_TOKENS]: usage.prompt,
    [GEN_AI_USAGE_OUTPUT_TOKENS]: usage.completion,
  }
  if (usage.cachedPrompt > 0) attributes[GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = usage.cachedPrompt
  return attributes
}

/** Where a provider's calls go, for server.address and server.port on its attempt spans. */
export function upstreamAddress(baseUrl: string | undefined): Attributes {
  if (!baseUrl || !URL.canParse(baseUrl)) return {}
  const url = new URL(baseUrl)
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80
  return { [ATTR_SERVER_ADDRESS]: url.hostname, [ATTR_SERVER_PORT]: port }
}

/** The model an answer names: `model` of an OpenAI completion, chunk or embeddings list, or an Anthropic message. */
export function responseModelOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const model = (value as { model?: unknown }).model
  if (typeof model === 'string' && model !== '') return model
  // Anthropic's stream names it once, in message_start.
  const message = (value as { message?: { model?: unknown } }).message
  return typeof message?.model === 'string' && message.model !== '' ? message.model : undefined
}
