// A listening gateway whose `claude` provider (type anthropic) points at the fake Anthropic upstream,
// and the official OpenAI SDK pointed at the gateway: what a user of the anthropic provider runs.
import OpenAI from 'openai'
import { type FakeAnthropicOptions, type FakeScript, startFakeAnthropic } from './anthropic-fake.js'
import { listenTestApp } from './helpers/app.js'

export const gatewayKey = 'sk-gateway-key-anthropic-01'
export const providerKey = 'sk-ant-provider-secret-0001'
export const upstreamModel = 'claude-sonnet-4-5'

export async function startAnthropicGateway(
  script: FakeScript,
  provider: Record<string, unknown> = {},
  fake: Partial<FakeAnthropicOptions> = {},
) {
  const upstream = await startFakeAnthropic(script, { apiKey: providerKey, ...fake })
  const gateway = await listenTestApp({
    auth: { master_key: gatewayKey },
    // One attempt per request: these tests read the provider's own mapping, not the router's retries.
    routing: { retries: 0 },
    providers: {
      claude: {
        type: 'anthropic',
        base_url: upstream.origin,
        api_key: providerKey,
        models: ['claude-haiku-4-5', 'claude-*'],
        ...provider,
      },
    },
    models: [{ name: 'smart', targets: [{ provider: 'claude', model: upstreamModel }] }],
  })
  const client = new OpenAI({ apiKey: gatewayKey, baseURL: `${gateway.origin}/v1`, maxRetries: 0 })
  /** A raw POST /v1/chat/completions, for status, headers and SSE checks the SDK hides. */
  const post = (body: unknown) =>
    fetch(`${gateway.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gatewayKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  return { upstream, gateway, client, post }
}

/** The OpenAI error body every gateway route answers with. */
export async function errorOf(res: Response) {
  const body = (await res.json()) as {
    error: { message: string; type: string; param: string | null; code: string | null }
  }
  return body.error
}
