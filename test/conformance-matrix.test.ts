// The conformance matrix: inbound format x provider x stream/non-stream x feature, each cell a real
// round trip through the official client SDK, the gateway and a scripted loopback upstream in the
// provider's own wire format. Prints the matrix (kept in the README) after the run.
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listenTestApp } from './helpers/app.js'
import { closeSuiteResources } from './helpers/cleanup.js'
import { answers, rateLimitTrigger, startSmartUpstream, type WireFormat } from './helpers/smart-upstream.js'

type ProviderKind = 'openai' | 'azure' | 'ollama' | 'anthropic' | 'gemini'
type Inbound = 'openai' | 'anthropic'
type Mode = 'json' | 'stream'
type Feature =
  | 'text + system'
  | 'unicode'
  | 'tool call'
  | 'tool result round trip'
  | 'image input'
  | 'json_schema'
  | 'usage'
  | 'upstream 429'
  | 'embeddings'

const providers: ProviderKind[] = ['openai', 'azure', 'ollama', 'anthropic', 'gemini']
const wireOf: Record<ProviderKind, WireFormat> = {
  openai: 'openai',
  azure: 'openai',
  ollama: 'openai',
  anthropic: 'anthropic',
  gemini: 'gemini',
}
const features: Feature[] = [
  'text + system',
  'unicode',
  'tool call',
  'tool result round trip',
  'image input',
  'json_schema',
  'usage',
  'upstream 429',
  'embeddings',
]
const unicodeText = 'héllo — 漢字 🙂 ok'

/** The SDK error for an upstream 429: the same status, class and Retry-After whatever the provider. */
async function expectRateLimited(call: Promise<unknown>): Promise<void> {
  const error = await call.then(
    () => null,
    (err: { status?: number; headers?: Headers | Record<string, string> }) => err,
  )
  expect(error?.status).toBe(429)
  const headers = error?.headers
  const retryAfter = headers instanceof Headers ? headers.get('retry-after') : headers?.['retry-after']
  expect(retryAfter).toBe('3')
}

/** Cells the provider or the inbound API has no counterpart for: each must answer this clear error. */
const notSupported: Partial<Record<string, { status: number; message: RegExp }>> = {
  'openai:anthropic:embeddings': { status: 400, message: /does not support embeddings/ },
}
/** Cells that do not exist (the inbound API has no such field), shown as "—". */
const notApplicable = (inbound: Inbound, feature: Feature, mode: Mode) =>
  (inbound === 'anthropic' && (feature === 'json_schema' || feature === 'embeddings')) ||
  (feature === 'embeddings' && mode === 'stream')

const results = new Map<string, string>()
const cellKey = (inbound: Inbound, provider: ProviderKind, feature: Feature, mode: Mode) =>
  `${inbound}|${provider}|${feature}|${mode}`

const gatewayKey = 'sk-matrix-gateway'
const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}
const pixel =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

interface Clients {
  openai: OpenAI
  anthropic: Anthropic
}

async function runOpenAI(client: OpenAI, model: string, feature: Feature, mode: Mode): Promise<void> {
  const tools: OpenAI.ChatCompletionTool[] = [
    {
      type: 'function',
      function: {
        name: weatherTool.name,
        description: weatherTool.description,
        parameters: weatherTool.schema,
      },
    },
  ]
  const complete = async (
    params: Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'model' | 'stream'>,
  ) => {
    if (mode === 'json') return client.chat.completions.create({ ...params, model })
    return client.chat.completions
      .stream({ ...params, model, stream_options: { include_usage: true } })
      .finalChatCompletion()
  }
  const user = (content: OpenAI.ChatCompletionUserMessageParam['content']) => ({
    role: 'user' as const,
    content,
  })
  switch (feature) {
    case 'text + system': {
      const answer = await complete({ messages: [{ role: 'system', content: 'be brief' }, user('hello')] })
      expect(answer.choices[0]?.message.content).toBe(answers.echo('hello', 'be brief'))
      expect(answer.choices[0]?.finish_reason).toBe('stop')
      return
    }
    case 'unicode': {
      const answer = await complete({ messages: [user(unicodeText)] })
      expect(answer.choices[0]?.message.content).toBe(answers.echo(unicodeText, ''))
      return
    }
    case 'upstream 429':
      return expectRateLimited(complete({ messages: [user(rateLimitTrigger)] }))
    case 'tool call': {
      const answer = await complete({ messages: [user('weather in Paris?')], tools })
      const call = answer.choices[0]?.message.tool_calls?.[0]
      expect(call?.type === 'function' && call.function.name).toBe('get_weather')
      expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual(answers.toolArgs)
      expect(call?.id).toBeTruthy()
      expect(answer.choices[0]?.finish_reason).toBe('tool_calls')
      return
    }
    case 'tool result round trip': {
      const answer = await complete({
        messages: [
          user('weather in Paris?'),
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        ],
        tools,
      })
      expect(answer.choices[0]?.message.content).toContain('The tool said:')
      expect(answer.choices[0]?.message.content).toContain('sunny')
      return
    }
    case 'image input': {
      const answer = await complete({
        messages: [
          user([
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${pixel}` } },
          ]),
        ],
      })
      expect(answer.choices[0]?.message.content).toBe(answers.image)
      return
    }
    case 'json_schema': {
      const answer = await complete({
        messages: [user('the answer?')],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'answer',
            schema: { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'] },
          },
        },
      })
      expect(JSON.parse(answer.choices[0]?.message.content ?? '')).toEqual({ answer: 42 })
      return
    }
    case 'usage': {
      const answer = await complete({ messages: [user('count')] })
      expect(answer.usage?.prompt_tokens).toBeGreaterThan(0)
      expect(answer.usage?.completion_tokens).toBeGreaterThan(0)
      return
    }
    case 'embeddings': {
      const result = await client.embeddings.create({ model, input: ['a', 'b'], encoding_format: 'float' })
      expect(result.data.map((d) => d.index)).toEqual([0, 1])
      expect(result.data[1]?.embedding).toHaveLength(2)
      return
    }
  }
}

async function runAnthropic(client: Anthropic, model: string, feature: Feature, mode: Mode): Promise<void> {
  const tools: Anthropic.Tool[] = [
    {
      name: weatherTool.name,
      description: weatherTool.description,
      input_schema: weatherTool.schema as Anthropic.Tool.InputSchema,
    },
  ]
  const send = async (params: Omit<Anthropic.MessageCreateParamsNonStreaming, 'model' | 'max_tokens'>) => {
    const full = { ...params, model, max_tokens: 256 }
    return mode === 'json' ? client.messages.create(full) : client.messages.stream(full).finalMessage()
  }
  const textOf = (message: Anthropic.Message) =>
    message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
  switch (feature) {
    case 'text + system': {
      const message = await send({ system: 'be brief', messages: [{ role: 'user', content: 'hello' }] })
      expect(textOf(message)).toBe(answers.echo('hello', 'be brief'))
      expect(message.stop_reason).toBe('end_turn')
      return
    }
    case 'unicode': {
      const message = await send({ messages: [{ role: 'user', content: unicodeText }] })
      expect(textOf(message)).toBe(answers.echo(unicodeText, ''))
      return
    }
    case 'upstream 429':
      return expectRateLimited(send({ messages: [{ role: 'user', content: rateLimitTrigger }] }))
    case 'tool call': {
      const message = await send({ messages: [{ role: 'user', content: 'weather in Paris?' }], tools })
      const use = message.content.find((block) => block.type === 'tool_use')
      expect(use?.type === 'tool_use' && [use.name, use.input]).toEqual(['get_weather', answers.toolArgs])
      expect(message.stop_reason).toBe('tool_use')
      return
    }
    case 'tool result round trip': {
      const message = await send({
        tools,
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
        ],
      })
      expect(textOf(message)).toContain('The tool said:')
      expect(textOf(message)).toContain('sunny')
      return
    }
    case 'image input': {
      const message = await send({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: pixel } },
            ],
          },
        ],
      })
      expect(textOf(message)).toBe(answers.image)
      return
    }
    case 'usage': {
      const message = await send({ messages: [{ role: 'user', content: 'count' }] })
      expect(message.usage.input_tokens).toBeGreaterThan(0)
      expect(message.usage.output_tokens).toBeGreaterThan(0)
      return
    }
    default:
      throw new Error(`no anthropic-inbound scenario for ${feature}`)
  }
}

const clients = new Map<ProviderKind, Clients>()

beforeAll(async () => {
  for (const provider of providers) {
    const upstream = await startSmartUpstream(wireOf[provider])
    const base_url = provider === 'openai' || provider === 'ollama' ? upstream.url : upstream.origin
    const entry: Record<string, unknown> = { type: provider, base_url }
    if (provider !== 'ollama') entry.api_key = `sk-${provider}-provider-key`
    // No retries: a cell is one translation, and the 429 cell must reach the client as sent.
    const { origin } = await listenTestApp({
      auth: { master_key: gatewayKey },
      routing: { retries: 0 },
      providers: { p: entry },
    })
    clients.set(provider, {
      openai: new OpenAI({ apiKey: gatewayKey, baseURL: `${origin}/v1`, maxRetries: 0 }),
      anthropic: new Anthropic({ apiKey: gatewayKey, baseURL: origin, maxRetries: 0 }),
    })
  }
})

describe.each(['openai', 'anthropic'] as Inbound[])('inbound %s', (inbound) => {
  describe.each(providers)('provider %s', (provider) => {
    for (const feature of features) {
      for (const mode of ['json', 'stream'] as Mode[]) {
        if (notApplicable(inbound, feature, mode)) continue
        it(`${feature} (${mode})`, async () => {
          const key = cellKey(inbound, provider, feature, mode)
          const client = clients.get(provider)!
          const expectedError = notSupported[`${inbound}:${provider}:${feature}`]
          const run = () =>
            inbound === 'openai'
              ? runOpenAI(client.openai, 'p/test-model', feature, mode)
              : runAnthropic(client.anthropic, 'p/test-model', feature, mode)
          results.set(key, '✗')
          if (expectedError) {
            const error = await run().then(
              () => null,
              (err: { status?: number; message?: string }) => err,
            )
            expect(error?.status).toBe(expectedError.status)
            expect(error?.message).toMatch(expectedError.message)
            results.set(key, `${expectedError.status}`)
            return
          }
          await run()
          results.set(key, '✓')
        })
      }
    }
  })
})

afterAll(async () => {
  await closeSuiteResources()
  const header = ['inbound', 'feature', 'mode', ...providers]
  const rows: string[][] = []
  for (const inbound of ['openai', 'anthropic'] as Inbound[]) {
    for (const feature of features) {
      for (const mode of ['json', 'stream'] as Mode[]) {
        if (notApplicable(inbound, feature, mode)) continue
        rows.push([
          inbound,
          feature,
          mode,
          ...providers.map((p) => results.get(cellKey(inbound, p, feature, mode)) ?? '?'),
        ])
      }
    }
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  const table = [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
  console.log(`\nConformance matrix (✓ works, 400 = documented clear error, ✗ failed):\n${table}\n`)
})
