// The soak's requests, built from their plan. Paths and public model names match soak-gateway.ts.
import { faultMarker, type RequestKind, type RequestPlan } from './soak-plan.js'

export const soakChatModel = 'soak-chat'
export const soakEmbedModel = 'soak-embed'

export const pathOf: Record<RequestKind, string> = {
  chat: '/v1/chat/completions',
  'chat-stream': '/v1/chat/completions',
  embeddings: '/v1/embeddings',
  messages: '/v1/messages',
  'messages-stream': '/v1/messages',
}

export interface SoakRequest {
  path: string
  body: string
  headers: Record<string, string>
}

/** The prompt or input text: fixed for a cacheable request, unique (and marked when faulted) otherwise. */
function textOf(plan: RequestPlan): string {
  if (plan.cacheVariant !== undefined) return `Cached question number ${plan.cacheVariant}, please.`
  const marker = plan.fault ? ` ${faultMarker(plan.seq, plan.fault)}` : ''
  return `Question number ${plan.seq}: say hello in a few words.${marker}`
}

function bodyOf(plan: RequestPlan): Record<string, unknown> {
  const text = textOf(plan)
  const cacheable = plan.cacheVariant !== undefined
  switch (plan.kind) {
    case 'chat':
    case 'chat-stream':
      return {
        model: soakChatModel,
        messages: [
          { role: 'system', content: 'You are a terse assistant.' },
          { role: 'user', content: text },
        ],
        max_tokens: 64,
        // The cache keeps chat answers at temperature 0 only; the rest leave it unset (sampled).
        ...(cacheable ? { temperature: 0 } : {}),
        ...(plan.kind === 'chat-stream' ? { stream: true, stream_options: { include_usage: true } } : {}),
      }
    case 'embeddings':
      return { model: soakEmbedModel, input: text }
    case 'messages':
    case 'messages-stream':
      return {
        model: soakChatModel,
        max_tokens: 64,
        messages: [{ role: 'user', content: text }],
        ...(plan.kind === 'messages-stream' ? { stream: true } : {}),
      }
  }
}

export function soakRequest(plan: RequestPlan, clientKey: string): SoakRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    authorization: `Bearer ${clientKey}`,
  }
  // Embeddings are always cacheable: the unique ones must not fill the cache for the whole run.
  if (plan.kind === 'embeddings' && plan.cacheVariant === undefined) headers['cache-control'] = 'no-store'
  return { path: pathOf[plan.kind], body: JSON.stringify(bodyOf(plan)), headers }
}

/** What the fake upstream answers an embeddings call with. */
export const embeddingsAnswer = {
  object: 'list',
  model: 'fake-embed',
  data: [
    {
      object: 'embedding',
      index: 0,
      embedding: [0.011, -0.023, 0.034, -0.045, 0.056, -0.067, 0.078, -0.089],
    },
  ],
  usage: { prompt_tokens: 12, total_tokens: 12 },
}
