import { describe, expect, it } from 'vitest'
import { buildTestApp, chatBody, parseSse } from './helpers/app.js'
import { completionBody, sendJson, startFakeUpstream, streamAnswer } from './helpers/fake-upstream.js'

async function azureSetup(provider: Record<string, unknown> = {}) {
  const upstream = await startFakeUpstream((req, res) => {
    if (req.url.includes('/embeddings')) {
      return sendJson(res, 200, {
        object: 'list',
        model: 'text-embedding-3-small',
        data: [{ object: 'embedding', index: 0, embedding: [1, 0] }],
        usage: { prompt_tokens: 1, total_tokens: 1 },
      })
    }
    return (req.body as { stream?: boolean }).stream
      ? streamAnswer(res)
      : sendJson(res, 200, completionBody('from azure'))
  })
  const built = await buildTestApp({
    providers: {
      az: { type: 'azure', base_url: upstream.origin, api_key: 'azure-key-0123456789', ...provider },
    },
    models: [{ name: 'corp-gpt', targets: [{ provider: 'az', model: 'my-gpt4o-deployment' }] }],
  })
  return { upstream, ...built }
}

describe('azure provider', () => {
  it('calls the deployment URL with api-version and the api-key header, without a model in the body', async () => {
    const { upstream, app } = await azureSetup({ api_version: '2025-01-01-preview' })
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('corp-gpt', 'hi'),
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().choices[0].message.content).toBe('from azure')
    const [seen] = upstream.requests
    expect(seen?.url).toBe(
      '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2025-01-01-preview',
    )
    expect(seen?.headers['api-key']).toBe('azure-key-0123456789')
    expect(seen?.headers.authorization).toBeUndefined()
    expect(seen?.body).toEqual({ messages: [{ role: 'user', content: 'hi' }] })
  })

  it('streams, and uses the default api-version when the config names none', async () => {
    const { upstream, app } = await azureSetup()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('corp-gpt', 'hi', { stream: true }),
    })
    expect(parseSse(res.body).at(-1)).toBe('[DONE]')
    expect(upstream.requests[0]?.url).toBe(
      '/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21',
    )
  })

  it('embeds through the deployment embeddings URL', async () => {
    const { upstream, app } = await azureSetup()
    const res = await app.inject({
      method: 'POST',
      url: '/v1/embeddings',
      payload: { model: 'az/embed-deploy', input: 'x' },
    })
    expect(res.json().data[0].embedding).toEqual([1, 0])
    expect(upstream.requests[0]?.url).toBe(
      '/openai/deployments/embed-deploy/embeddings?api-version=2024-10-21',
    )
  })

  it('requires a base_url', async () => {
    const { parseConfig, ConfigError } = await import('../config/load.js')
    expect(() => parseConfig({ providers: { az: { type: 'azure', api_key: 'k' } } }, {})).toThrow(ConfigError)
  })
})

describe('capabilities', () => {
  const config = {
    providers: {
      mock: { type: 'mock' },
      textonly: { type: 'mock', capabilities: { vision: false, tools: false } },
    },
    models: [
      {
        name: 'no-stream',
        targets: [{ provider: 'mock', model: 'echo', capabilities: { streaming: false } }],
      },
    ],
  }
  const imageMessage = {
    role: 'user',
    content: [
      { type: 'text', text: 'what is this?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ],
  }

  it('refuses a request needing a capability the target lacks, naming it', async () => {
    const { app } = await buildTestApp(config)
    const vision = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: { model: 'textonly/echo', messages: [imageMessage] },
    })
    expect(vision.statusCode).toBe(400)
    expect(vision.json().error).toMatchObject({ code: 'unsupported_capability', param: 'messages' })
    expect(vision.json().error.message).toContain('does not support vision')
    const tools = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('textonly/echo', 'x', { tools: [{ type: 'function', function: { name: 'f' } }] }),
    })
    expect(tools.json().error.message).toContain('does not support tools')
    const stream = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('no-stream', 'x', { stream: true }),
    })
    expect(stream.statusCode).toBe(400)
    expect(stream.json().error.param).toBe('stream')
    // The same requests go through where the capability is there.
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: { model: 'mock/echo', messages: [imageMessage] },
    })
    expect(ok.statusCode).toBe(200)
  })

  it('shows capabilities on GET /v1/models', async () => {
    const { app } = await buildTestApp(config)
    const models = (await app.inject({ method: 'GET', url: '/v1/models' })).json().data as {
      id: string
      capabilities: Record<string, boolean>
    }[]
    expect(models.find((m) => m.id === 'no-stream')?.capabilities.streaming).toBe(false)
    expect(models.find((m) => m.id === 'textonly/echo')?.capabilities).toMatchObject({
      vision: false,
      tools: false,
      chat: true,
    })
    expect(models.find((m) => m.id === 'mock/echo')?.capabilities.vision).toBe(true)
  })
})
