import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TSchema } from '@sinclair/typebox'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { generateOpenApiDocument, serializeDocument } from '../openapi/document.js'
import {
  AssistantResponseMessage,
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionRequest,
  ChunkDelta,
  FunctionToolCall,
  ToolCallDelta,
} from '../schemas/openai/chat.js'
import { Embedding, EmbeddingsRequest, EmbeddingsResponse } from '../schemas/openai/embeddings.js'
import { ErrorResponse } from '../schemas/openai/errors.js'
import { ListModelsResponse, Model } from '../schemas/openai/models.js'
import { CompletionUsage } from '../schemas/openai/usage.js'
import { buildTestApp } from './helpers/app.js'

const repoRoot = join(import.meta.dirname, '..')
const vendoredSpec = join(import.meta.dirname, 'fixtures', 'openai-spec', 'openai-openapi.yaml')
const sharedSpec = join(repoRoot, '..', 'shared', 'specs', 'openai-openapi.yaml')

describe('the generated OpenAPI document', () => {
  it('is checked in up to date (run `npm run openapi` after changing a schema)', async () => {
    const checkedIn = readFileSync(join(repoRoot, 'openapi', 'openapi.json'), 'utf8')
    expect(checkedIn).toBe(serializeDocument(await generateOpenApiDocument()))
  })

  it('is served at /openapi.json, and Swagger UI at /docs', async () => {
    const { app } = await buildTestApp()
    const served = await app.inject({ method: 'GET', url: '/openapi.json' })
    expect(served.json()).toEqual(JSON.parse(readFileSync(join(repoRoot, 'openapi', 'openapi.json'), 'utf8')))
    const ui = await app.inject({ method: 'GET', url: '/docs/' })
    expect(ui.statusCode).toBe(200)
    expect(ui.body).toContain('swagger-ui')
  })

  it('documents every public route', async () => {
    const document = (await generateOpenApiDocument()) as { paths: Record<string, unknown> }
    expect(Object.keys(document.paths).sort()).toEqual([
      '/admin/cache',
      '/admin/config',
      '/admin/keys',
      '/admin/keys/{id}',
      '/admin/keys/{id}/rotate',
      '/admin/providers',
      '/admin/providers/{name}/disable',
      '/admin/providers/{name}/enable',
      '/admin/reload',
      '/admin/spend',
      '/health/live',
      '/health/providers',
      '/health/ready',
      '/v1/chat/completions',
      '/v1/embeddings',
      '/v1/messages',
      '/v1/messages/count_tokens',
      '/v1/models',
      '/v1/models/{id}',
    ])
  })
})

type JsonSchema = {
  $ref?: string
  allOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  items?: JsonSchema
}

describe('schemas agree with the official OpenAI description', () => {
  const spec = parseYaml(readFileSync(vendoredSpec, 'utf8'), { maxAliasCount: -1 }) as {
    components: { schemas: Record<string, JsonSchema> }
  }
  const components = spec.components.schemas

  // Flattens $ref and allOf into one object schema: the field names and required list a client sees.
  function flatten(schema: JsonSchema): { properties: Record<string, JsonSchema>; required: string[] } {
    if (schema.$ref) return flatten(components[schema.$ref.split('/').at(-1)!]!)
    const parts = [schema, ...(schema.allOf ?? [])].map((part) =>
      part === schema ? { properties: part.properties ?? {}, required: part.required ?? [] } : flatten(part),
    )
    return {
      properties: Object.assign({}, ...parts.map((p) => p.properties)),
      required: [...new Set(parts.flatMap((p) => p.required))],
    }
  }
  const official = (name: string) => flatten({ $ref: `#/components/schemas/${name}` })
  const officialItems = (name: string, property: string) =>
    flatten(official(name).properties[property]!.items!)
  // Extension fields say so in their description; they are ours to add, not OpenAI's to name.
  const isExtension = (property: unknown) =>
    String((property as { description?: string }).description ?? '').startsWith('AnyGate extension')
  const ours = (schema: TSchema) => ({
    properties: Object.entries((schema as JsonSchema).properties ?? {})
      .filter(([, property]) => !isExtension(property))
      .map(([name]) => name),
    required: (schema as JsonSchema).required ?? [],
  })

  const responses: [string, TSchema, () => ReturnType<typeof flatten>][] = [
    ['CreateChatCompletionResponse', ChatCompletion, () => official('CreateChatCompletionResponse')],
    [
      'CreateChatCompletionResponse.choices[]',
      ChatCompletionChoice,
      () => officialItems('CreateChatCompletionResponse', 'choices'),
    ],
    [
      'ChatCompletionResponseMessage',
      AssistantResponseMessage,
      () => official('ChatCompletionResponseMessage'),
    ],
    ['ChatCompletionMessageToolCall', FunctionToolCall, () => official('ChatCompletionMessageToolCall')],
    ['CompletionUsage', CompletionUsage, () => official('CompletionUsage')],
    [
      'CreateChatCompletionStreamResponse',
      ChatCompletionChunk,
      () => official('CreateChatCompletionStreamResponse'),
    ],
    [
      'CreateChatCompletionStreamResponse.choices[]',
      ChatCompletionChunkChoice,
      () => officialItems('CreateChatCompletionStreamResponse', 'choices'),
    ],
    ['ChatCompletionStreamResponseDelta', ChunkDelta, () => official('ChatCompletionStreamResponseDelta')],
    [
      'ChatCompletionMessageToolCallChunk',
      ToolCallDelta,
      () => official('ChatCompletionMessageToolCallChunk'),
    ],
    ['CreateEmbeddingResponse', EmbeddingsResponse, () => official('CreateEmbeddingResponse')],
    ['Embedding', Embedding, () => official('Embedding')],
    ['Model', Model, () => official('Model')],
    ['ListModelsResponse', ListModelsResponse, () => official('ListModelsResponse')],
    ['Error', ErrorResponse.properties.error, () => official('Error')],
  ]

  it.each(responses)('%s: same field names, same required fields', (_name, schema, officialSchema) => {
    const expected = officialSchema()
    const actual = ours(schema)
    expect(Object.keys(expected.properties)).toEqual(expect.arrayContaining(actual.properties))
    expect([...actual.required].sort()).toEqual([...expected.required].sort())
  })

  const requests: [string, TSchema][] = [
    ['CreateChatCompletionRequest', ChatCompletionRequest],
    ['CreateEmbeddingRequest', EmbeddingsRequest],
  ]
  it.each(requests)(
    '%s: every field we name is an official field, and required ones match',
    (name, schema) => {
      const expected = official(name)
      const actual = ours(schema)
      expect(Object.keys(expected.properties)).toEqual(expect.arrayContaining(actual.properties))
      expect([...actual.required].sort()).toEqual([...expected.required].sort())
    },
  )

  it.runIf(existsSync(sharedSpec))(
    'uses the same spec as ../shared/specs (refresh the vendored copy when it changes)',
    () => {
      expect(readFileSync(vendoredSpec, 'utf8')).toBe(readFileSync(sharedSpec, 'utf8'))
    },
  )
})
