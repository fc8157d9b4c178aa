// The official OpenAI SDK as the client, against a listening gateway: what users actually run.
import OpenAI from 'openai'
import { describe, expect, it } from 'vitest'
import { listenTestApp } from './helpers/app.js'
import { chunkBody, sendJson, sseData, startFakeUpstream, startSse } from './helpers/fake-upstream.js'

const gatewayKey = 'sk-gateway-sdk-test'

async function gatewayWithUpstream() {
  const upstream = await startFakeUpstream((req, res) => {
    const body = req.body as { stream?: boolean }
    if (req.url.endsWith('/embeddings')) {
      return sendJson(res, 200, {
        object: 'list',
        model: 'emb',
        data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.5] }],
        usage: { prompt_tokens: 1, total_tokens: 1 },
      })
    }
    if (!body.stream)
      return sendJson(res, 404, {
        error: { message: 'no such model', type: 'invalid_request_error', code: 'model_not_found' },
      })
    startSse(res)
    res.write(
      sseData(
        chunkBody({
          role: 'assistant',
          content: null,
          tool_calls: [
            { index: 0, id: 'call_a', type: 'function', function: { name: 'add', arguments: '' } },
          ],
        }),
      ),
    )
    res.write(sseData(chunkBody({ tool_calls: [{ index: 0, function: { arguments: '{"a":1,' } }] })))
    res.write(sseData(chunkBody({ tool_calls: [{ index: 0, function: { arguments: '"b":2}' } }] })))
    res.write(
      sseData(
        chunkBody({
          tool_calls: [
            { index: 1, id: 'call_b', type: 'function', function: { name: 'mul', arguments: '{}' } },
          ],
        }),
      ),
    )
    res.write(sseData(chunkBody({}, 'tool_calls')))
    res.end(sseData('[DONE]'))
  })
  const gateway = await listenTestApp({
    auth: { master_key: gatewayKey },
    providers: {
      mock: { type: 'mock' },
      compat: { type: 'openai', base_url: upstream.url, api_key: 'sk-upstream' },
    },
    models: [{ name: 'echo', targets: [{ provider: 'mock', model: 'echo' }] }],
  })
  const client = new OpenAI({ apiKey: gatewayKey, baseURL: `${gateway.origin}/v1`, maxRetries: 0 })
  return { client, upstream, gateway }
}

describe('the official openai SDK against AnyGate', () => {
  it('creates a chat completion', async () => {
    const { client } = await gatewayWithUpstream()
    const completion = await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'hello sdk' }],
    })
    expect(completion.choices[0]?.message.content).toBe('hello sdk')
    expect(completion.usage?.total_tokens).toBeGreaterThan(0)
  })

  it('streams a chat completion with usage', async () => {
    const { client } = await gatewayWithUpstream()
    const stream = await client.chat.completions.create({
      model: 'echo',
      messages: [{ role: 'user', content: 'stream me please' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let usage: OpenAI.CompletionUsage | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.usage) usage = chunk.usage
    }
    expect(text).toBe('stream me please')
    expect(usage?.completion_tokens).toBeGreaterThan(0)
  })

  it('assembles parallel tool calls streamed from an OpenAI-compatible upstream', async () => {
    const { client } = await gatewayWithUpstream()
    const runner = client.chat.completions.stream({
      model: 'compat/some-model',
      messages: [{ role: 'user', content: 'add and multiply' }],
      tools: [
        { type: 'function', function: { name: 'add', parameters: { type: 'object' } } },
        { type: 'function', function: { name: 'mul', parameters: { type: 'object' } } },
      ],
    })
    const final = await runner.finalChatCompletion()
    const calls = final.choices[0]?.message.tool_calls ?? []
    expect(calls.map((c) => c.type === 'function' && [c.id, c.function.name, c.function.arguments])).toEqual([
      ['call_a', 'add', '{"a":1,"b":2}'],
      ['call_b', 'mul', '{}'],
    ])
    expect(final.choices[0]?.finish_reason).toBe('tool_calls')
  })

  it('raises an APIError when the stream fails mid-way', async () => {
    const { client } = await gatewayWithUpstream()
    const stream = await client.chat.completions.create(
      { model: 'echo', messages: [{ role: 'user', content: 'one two three four' }], stream: true },
      { headers: { 'x-mock-fail-after': '2' } },
    )
    const read = async () => {
      for await (const _chunk of stream) {
      }
    }
    await expect(read()).rejects.toBeInstanceOf(OpenAI.APIError)
  })

  it('creates embeddings, on the mock and through an upstream', async () => {
    const { client, upstream } = await gatewayWithUpstream()
    const mock = await client.embeddings.create({ model: 'mock/embed', input: ['a', 'b'], dimensions: 8 })
    expect(mock.data).toHaveLength(2)
    expect(mock.data[0]?.embedding).toHaveLength(8)
    const proxied = await client.embeddings.create({
      model: 'compat/emb',
      input: 'x',
      encoding_format: 'float',
    })
    expect(proxied.data[0]?.embedding).toEqual([0.5, -0.5])
    expect(upstream.requests[0]?.headers.authorization).toBe('Bearer sk-upstream')
  })

  it('lists and retrieves models, slashed ids included', async () => {
    const { client } = await gatewayWithUpstream()
    const ids: string[] = []
    for await (const model of client.models.list()) ids.push(model.id)
    expect(ids).toContain('echo')
    expect(ids).toContain('mock/fixed')
    expect((await client.models.retrieve('echo')).owned_by).toBe('mock')
    expect((await client.models.retrieve('mock/fixed')).id).toBe('mock/fixed')
  })

  it('raises the SDK error classes for 400, 401 and 404', async () => {
    const { client, gateway } = await gatewayWithUpstream()
    await expect(client.chat.completions.create({ model: 'echo', messages: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    )
    const stranger = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${gateway.origin}/v1`, maxRetries: 0 })
    await expect(
      stranger.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
    const missing = client.chat.completions.create({
      model: 'nope',
      messages: [{ role: 'user', content: 'x' }],
    })
    await expect(missing).rejects.toBeInstanceOf(OpenAI.NotFoundError)
    await expect(missing).rejects.toMatchObject({ code: 'model_not_found', param: 'model' })
    // An upstream 404 keeps its status and class too.
    await expect(
      client.chat.completions.create({ model: 'compat/gone', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError)
  })
})
