// What a request needs from a model, checked before the call: a target that can't see images or
// call tools gets a clear 400 naming the capability instead of silently dropping the input.
import type { Capabilities } from '../providers/contract.js'
import type { ChatCompletionRequest } from '../schemas/openai/chat.js'
import { GatewayError } from './gateway-error.js'

export type CapabilityName = 'chat' | 'streaming' | 'embeddings' | 'tools' | 'vision' | 'json_schema'

const hasImage = (request: ChatCompletionRequest) =>
  request.messages.some(
    (message) => Array.isArray(message.content) && message.content.some((part) => part.type === 'image_url'),
  )

export function requiredCapabilities(request: ChatCompletionRequest): CapabilityName[] {
  const needs: CapabilityName[] = ['chat']
  if (request.stream) needs.push('streaming')
  if (request.tools && request.tools.length > 0) needs.push('tools')
  if (hasImage(request)) needs.push('vision')
  if (request.response_format?.type === 'json_schema') needs.push('json_schema')
  return needs
}

const params: Partial<Record<CapabilityName, string>> = {
  streaming: 'stream',
  tools: 'tools',
  vision: 'messages',
  json_schema: 'response_format',
}

export interface CapabilityTarget {
  model: string
  provider: string
  upstreamModel: string
}

export function unsupportedCapability(need: CapabilityName, where: CapabilityTarget): GatewayError {
  return new GatewayError(
    400,
    `The model \`${where.model}\` (${where.provider}/${where.upstreamModel}) does not support ${need.replace('_', ' ')}; ` +
      'choose a model that does, or change the request.',
    'invalid_request_error',
    'unsupported_capability',
    params[need] ?? null,
  )
}

export function assertCapabilities(
  capabilities: Capabilities,
  needs: CapabilityName[],
  where: CapabilityTarget,
): void {
  for (const need of needs) if (!capabilities[need]) throw unsupportedCapability(need, where)
}
