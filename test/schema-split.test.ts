// The request schemas split into $defs (plugins/schema-split.ts) must validate exactly as the whole
// schema does: same verdict, same first error (keyword, path, params, parentSchema, data), same
// message. Compared side by side on Ajv instances set up as app.ts sets up Fastify's.
import { Ajv, type ErrorObject } from 'ajv'
import formats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import { validationOptions } from '../app.js'
import { hoistLargeProperties, splitLargeSchemas } from '../plugins/schema-split.js'
import { validationMessage } from '../plugins/validation-message.js'
import { AnthropicMessagesRequest } from '../schemas/anthropic/messages.js'
import { ChatCompletionRequest } from '../schemas/openai/chat.js'

// As @fastify/ajv-compiler adds to the app's own options.
const appOptions = { ...validationOptions, addUsedSchema: false, strict: false } as const

// ajv-formats is CommonJS: its plugin is the module's `default`.
const addFormats = formats.default

function validators(schema: object) {
  const whole = addFormats(new Ajv({ ...appOptions, inlineRefs: true })).compile(schema)
  const split = splitLargeSchemas(addFormats(new Ajv(appOptions))).compile(schema)
  return { whole, split }
}

/** A schema as JSON with the split's references put back, to compare with the whole one's. */
function resolved(node: unknown, defs: Record<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((item) => resolved(item, defs))
  if (typeof node !== 'object' || node === null) return node
  const ref = (node as { $ref?: string }).$ref
  if (ref?.startsWith('#/$defs/')) return resolved(defs[ref.slice('#/$defs/'.length)], defs)
  const entries = Object.entries(node).filter(([key]) => key !== '$defs')
  return Object.fromEntries(entries.map(([key, value]) => [key, resolved(value, defs)]))
}

const comparable = (errors: ErrorObject[] | null | undefined, defs: Record<string, unknown>) =>
  (errors ?? []).map(({ keyword, instancePath, params, parentSchema, data, message }) => ({
    keyword,
    instancePath,
    params,
    parentSchema: resolved(parentSchema, defs),
    data,
    message,
  }))

const text = (content: unknown) => ({ role: 'user', content })

const chatBodies: unknown[] = [
  { model: 'm', messages: [text('hi')] },
  { model: 'm', messages: [{ role: 'system', content: 'a' }, text('b')], max_tokens: 64 },
  {},
  { model: 'm' },
  { model: 'm', messages: [] },
  { model: 7, messages: [text('hi')] },
  { model: 'm', messages: [{ role: 'robot', content: 'x' }] },
  { model: 'm', messages: [{ content: 'x' }] },
  { model: 'm', messages: [{ role: 7, content: 'x' }] },
  { model: 'm', messages: [text(5)] },
  { model: 'm', messages: [text([{ type: 'image_url', image_url: 5 }])] },
  { model: 'm', messages: [text([{ type: 'image_url', image_url: { url: 5 } }])] },
  { model: 'm', messages: [text([{ type: 'video', url: 'x' }])] },
  { model: 'm', messages: [text([{ text: 'x' }])] },
  { model: 'm', messages: [text([])] },
  { model: 'm', messages: [text([{ type: 'text', text: 5 }])] },
  { model: 'm', messages: [{ role: 'assistant', tool_calls: [{ id: 1 }] }] },
  { model: 'm', messages: [{ role: 'tool', content: 'x' }] },
  { model: 'm', messages: [text('x')], temperature: 'hot' },
  { model: 'm', messages: [text('x')], temperature: 7 },
  { model: 'm', messages: [text('x')], stream: 'yes' },
  { model: 'm', messages: [text('x')], stream_options: { include_usage: 'y' } },
  { model: 'm', messages: [text('x')], tools: [{ type: 'function' }] },
  { model: 'm', messages: [text('x')], tools: [{ type: 'function', function: { name: 5 } }] },
  { model: 'm', messages: [text('x')], tools: 'all' },
  { model: 'm', messages: [text('x')], tool_choice: { type: 'function', function: {} } },
  { model: 'm', messages: [text('x')], tool_choice: 'sometimes' },
  { model: 'm', messages: [text('x')], response_format: { type: 'json_schema' } },
  { model: 'm', messages: [text('x')], response_format: { type: 'xml' } },
  { model: 'm', messages: [text('x')], response_format: { type: 'json_schema', json_schema: { name: 5 } } },
  { model: 'm', messages: [text('x')], stop: [1, 2] },
  { model: 'm', messages: [text('x')], logit_bias: { 1: 'x' } },
  { model: 'm', messages: [text('x')], n: 0 },
  { model: 'm', messages: [text('x')], unknown_param: { anything: true } },
  [],
  'text',
]

const anthropicBodies: unknown[] = [
  { model: 'm', max_tokens: 10, messages: [text('hi')] },
  { model: 'm', messages: [text('hi')] },
  { model: 'm', max_tokens: 10, messages: [text([{ type: 'image', source: { type: 'url' } }])] },
  { model: 'm', max_tokens: 10, messages: [text([{ type: 'image', source: { type: 'base64', data: 5 } }])] },
  { model: 'm', max_tokens: 10, messages: [text([{ type: 'tool_use', id: 'x' }])] },
  { model: 'm', max_tokens: 10, messages: [text([{ type: 'nope' }])] },
  { model: 'm', max_tokens: 10, messages: [{ role: 'robot', content: 'x' }] },
  { model: 'm', max_tokens: 10, messages: [text('x')], system: 5 },
  { model: 'm', max_tokens: 10, messages: [text('x')], tools: [{ name: 5 }] },
]

describe('schemas split into $defs validate as the whole schema does', () => {
  it.each([
    ['ChatCompletionRequest', ChatCompletionRequest, chatBodies],
    ['AnthropicMessagesRequest', AnthropicMessagesRequest, anthropicBodies],
  ] as const)('%s: same verdict, errors and message for every body', (_name, schema, bodies) => {
    const { $defs: defs } = hoistLargeProperties(schema) as { $defs: Record<string, unknown> }
    expect(Object.keys(defs).length).toBeGreaterThan(1)
    const { whole, split } = validators(schema)
    for (const body of bodies) {
      const verdict = whole(body)
      expect(split(body), JSON.stringify(body)).toBe(verdict)
      expect(comparable(split.errors, defs), JSON.stringify(body)).toEqual(comparable(whole.errors, {}))
      if (!verdict)
        expect(validationMessage(split.errors!, 'body')).toEqual(validationMessage(whole.errors!, 'body'))
    }
  })

  it('leaves small schemas and schemas with references of their own as they are', () => {
    const small = { type: 'object', properties: { a: { type: 'string' } } }
    expect(hoistLargeProperties(small)).toBe(small)
    const big = { type: 'object', properties: { a: { description: 'x'.repeat(2000) } } }
    const withRef = { ...big, $defs: { b: { type: 'string' } } }
    expect(hoistLargeProperties(withRef)).toBe(withRef)
    expect(hoistLargeProperties(big)).toEqual({
      type: 'object',
      properties: { a: { $ref: '#/$defs/p0' } },
      $defs: { p0: big.properties.a },
    })
  })
})
