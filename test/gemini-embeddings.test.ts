// Embeddings: OpenAI requests -> embedContent / batchEmbedContents and back, table-driven from
// test/fixtures/gemini/embeddings.json.
import { describe, expect, it } from 'vitest'
import {
  fromGeminiEmbeddings,
  maxBatchSize,
  readBatchEmbedContents,
  toBase64Float32,
  toGeminiEmbeddings,
} from '../providers/gemini/embeddings.js'
import type { EmbeddingsRequest } from '../schemas/openai/embeddings.js'
import { cases, provider, thrown } from './fixtures/gemini/tables.js'

describe('gemini embeddings translation', () => {
  it.each(
    cases<{ name: string; model: string; request: EmbeddingsRequest; expected: unknown }>('embeddings.json'),
  )('%s', (_name, c) => {
    expect(toGeminiEmbeddings(c.request, c.model, provider)).toEqual(c.expected)
  })

  it('cuts a long list into batches of 100, in order', () => {
    const input = Array.from({ length: 250 }, (_, i) => `t${i}`)
    const plan = toGeminiEmbeddings({ model: 'e', input }, 'gemini-embedding-001', provider)
    expect(plan.method === 'batchEmbedContents' && plan.batches.map((b) => b.requests.length)).toEqual([
      maxBatchSize,
      maxBatchSize,
      50,
    ])
    const texts =
      plan.method === 'batchEmbedContents'
        ? plan.batches.flatMap((b) => b.requests.map((r) => r.content.parts?.[0]?.text))
        : []
    expect(texts).toEqual(input)
  })

  it('refuses token-id inputs with a 400 on `input`', () => {
    const error = thrown(() => toGeminiEmbeddings({ model: 'e', input: [[1, 2]] }, 'm', provider))
    expect(error).toMatchObject({ statusCode: 400, param: 'input' })
  })

  it('encodes base64 as little-endian float32, the way the OpenAI SDK decodes it', () => {
    const values = [0.1, -2.5, 3e-8, 1234.5678]
    const bytes = Buffer.from(toBase64Float32(values), 'base64')
    const decoded = Array.from({ length: values.length }, (_, i) => bytes.readFloatLE(i * 4))
    expect(decoded).toEqual(values.map(Math.fround))
    const list = fromGeminiEmbeddings([values], 'm', 'base64')
    expect(list).toEqual({
      object: 'list',
      model: 'm',
      data: [{ object: 'embedding', index: 0, embedding: toBase64Float32(values) }],
      usage: { prompt_tokens: 0, total_tokens: 0 },
    })
  })

  it('refuses a batch answer with a different number of embeddings', () => {
    const error = thrown(() => readBatchEmbedContents({ embeddings: [{ values: [1] }] }, 2, provider))
    expect(error).toMatchObject({ statusCode: 502, code: 'upstream_bad_response' })
  })
})
