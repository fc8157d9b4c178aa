// The pure translations behind POST /v1/messages, as tables in test/fixtures/messages/.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GatewayError } from '../plugins/gateway-error.js'
import { estimateInputTokens } from '../routes/messages/count-tokens.js'
import { toAnthropicMessage, toToolInput } from '../routes/messages/from-canonical.js'
import { type CanonicalTarget, ignoredFields, toCanonicalRequest } from '../routes/messages/to-canonical.js'
import type { AnthropicMessagesRequest } from '../schemas/anthropic/messages.js'
import type { ChatCompletion } from '../schemas/openai/chat.js'

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'messages', name), 'utf8')) as T

const toCanonical = fixture<{
  target: CanonicalTarget
  cases: {
    name: string
    target?: CanonicalTarget
    request: AnthropicMessagesRequest
    canonical: unknown
    ignored?: string[]
  }[]
}>('to-canonical.json')

const untranslatable = fixture<{
  target: CanonicalTarget
  cases: { name: string; request: AnthropicMessagesRequest; param: string; message: string }[]
}>('untranslatable.json')

const fromCanonical = fixture<{ cases: { name: string; completion: ChatCompletion; message: unknown }[] }>(
  'from-canonical.json',
)

describe('Anthropic request -> canonical request', () => {
  it.each(toCanonical.cases)('$name', ({ request, target, canonical, ignored }) => {
    expect(toCanonicalRequest(request, target ?? toCanonical.target)).toEqual(canonical)
    expect(ignoredFields(request)).toEqual(ignored ?? [])
  })

  it('does not change the request it translates', () => {
    const request = structuredClone(toCanonical.cases.at(-1)!.request)
    const before = JSON.stringify(request)
    toCanonicalRequest(request, toCanonical.target)
    expect(JSON.stringify(request)).toBe(before)
  })
})

describe('requests with no canonical counterpart get a 400 naming the field and the target', () => {
  it.each(untranslatable.cases)('$name', ({ request, param, message }) => {
    let thrown: unknown
    try {
      toCanonicalRequest(request, untranslatable.target)
    } catch (err) {
      thrown = err
    }
    expect(thrown).toBeInstanceOf(GatewayError)
    const error = thrown as GatewayError
    expect(error.statusCode).toBe(400)
    expect(error.param).toBe(param)
    expect(error.message).toContain(message)
    expect(error.message).toContain(param)
  })

  it('names the model and provider when the cause is the target', () => {
    const [topK] = untranslatable.cases
    expect(() => toCanonicalRequest(topK!.request, untranslatable.target)).toThrow(
      /model `m` \(provider "up", type openai\)/,
    )
  })
})

describe('canonical completion -> Anthropic message', () => {
  it.each(fromCanonical.cases)('$name', ({ completion, message }) => {
    expect(toAnthropicMessage(completion, 'up')).toEqual(message)
  })

  it('makes a msg_ id when the upstream sent none', () => {
    const [first] = fromCanonical.cases
    const message = toAnthropicMessage({ ...first!.completion, id: '' }, 'up')
    expect(message.id).toMatch(/^msg_[0-9a-f]{32}$/)
  })

  it('reports an upstream answer without choices as a bad response', () => {
    const [first] = fromCanonical.cases
    expect(() => toAnthropicMessage({ ...first!.completion, choices: [] }, 'up')).toThrow(
      /Provider "up" sent an invalid response/,
    )
  })

  it.each([
    ['{"a":{"b":[1,2]}}', { a: { b: [1, 2] } }],
    ['  ', {}],
    ['null', { _raw: 'null' }],
    ['"text"', { _raw: '"text"' }],
    ['{"unterminated', { _raw: '{"unterminated' }],
  ])('tool arguments %j become input %j', (text, input) => {
    expect(toToolInput(text)).toEqual(input)
  })
})

describe('count_tokens estimate', () => {
  const base = { model: 'm', messages: [] as AnthropicMessagesRequest['messages'] }

  it('counts about 4 characters a token over system, messages and tool definitions', () => {
    const text = 'x'.repeat(400)
    expect(estimateInputTokens({ ...base, messages: [{ role: 'user', content: text }] })).toBe(100)
    expect(estimateInputTokens({ ...base, system: text, messages: [{ role: 'user', content: text }] })).toBe(
      200,
    )
    const withTool = estimateInputTokens({
      ...base,
      messages: [{ role: 'user', content: text }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
    })
    expect(withTool).toBeGreaterThan(100)
  })

  it('counts an image at 1,600 tokens and a PDF at 2,250 a page', () => {
    const pdf = Buffer.from('%PDF-1.4 /Type /Pages /Type /Page x /Type/Page y').toString('base64')
    const tokens = estimateInputTokens({
      ...base,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            {
              type: 'document',
              source: { type: 'base64', media_type: 'application/pdf', data: pdf } as never,
            },
          ],
        },
      ],
    })
    expect(tokens).toBe(1600 + 2 * 2250)
  })

  it('leaves out thinking from earlier turns', () => {
    const thinking = estimateInputTokens({
      ...base,
      messages: [
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'y'.repeat(4000), signature: 's' }] },
      ],
    })
    expect(thinking).toBe(0)
  })
})
