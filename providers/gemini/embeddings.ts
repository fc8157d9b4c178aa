// OpenAI embeddings <-> Gemini embedContent / batchEmbedContents. Pure.
// Reference: https://ai.google.dev/api/embeddings
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../schemas/openai/embeddings.js'
import { unsupportedInput } from './input-errors.js'
import { modelResource } from './request.js'
import type {
  GeminiBatchEmbedContentsRequest,
  GeminiBatchEmbedContentsResponse,
  GeminiEmbedContentRequest,
  GeminiEmbedContentResponse,
} from './wire.js'

/**
 * batchEmbedContents takes at most 100 requests ("BatchEmbedContentsRequest.requests: at most 100
 * requests can be in one batch"); longer inputs go up in several calls, answered in order.
 */
export const maxBatchSize = 100

export type EmbeddingsPlan =
  | { method: 'embedContent'; body: GeminiEmbedContentRequest }
  | { method: 'batchEmbedContents'; batches: GeminiBatchEmbedContentsRequest[] }

/** A single string goes to embedContent; a list to batchEmbedContents, in batches of maxBatchSize. */
export function toGeminiEmbeddings(
  request: EmbeddingsRequest,
  model: string,
  provider: string,
): EmbeddingsPlan {
  const input = request.input
  const dimensions = request.dimensions
  const withDimensions = (body: GeminiEmbedContentRequest) =>
    dimensions === undefined ? body : { ...body, outputDimensionality: dimensions }
  if (typeof input === 'string') {
    return { method: 'embedContent', body: withDimensions({ content: { parts: [{ text: input }] } }) }
  }
  if (input.some((item) => typeof item !== 'string')) {
    throw unsupportedInput(provider, 'input', 'token-id inputs (Gemini embeds text; send strings)')
  }
  // Each batch entry names its model, which must be the one in the URL.
  const requests = (input as string[]).map((text) =>
    withDimensions({ model: modelResource(model), content: { parts: [{ text }] } }),
  )
  const batches: GeminiBatchEmbedContentsRequest[] = []
  for (let i = 0; i < requests.length; i += maxBatchSize)
    batches.push({ requests: requests.slice(i, i + maxBatchSize) })
  return { method: 'batchEmbedContents', batches }
}

const isVector = (values: unknown): values is number[] =>
  Array.isArray(values) && values.every((v) => typeof v === 'number')

export function readEmbedContent(response: GeminiEmbedContentResponse, provider: string): number[][] {
  const values = response?.embedding?.values
  if (!isVector(values)) throw upstreamBadResponse(provider, 'the response had no embedding.values array')
  return [values]
}

export function readBatchEmbedContents(
  response: GeminiBatchEmbedContentsResponse,
  expected: number,
  provider: string,
): number[][] {
  const embeddings = response?.embeddings
  if (!Array.isArray(embeddings) || embeddings.length !== expected) {
    throw upstreamBadResponse(
      provider,
      `expected ${expected} embeddings, got ${Array.isArray(embeddings) ? embeddings.length : 'none'}`,
    )
  }
  return embeddings.map((embedding) => {
    if (!isVector(embedding?.values)) throw upstreamBadResponse(provider, 'an embedding had no values array')
    return embedding.values
  })
}

/** OpenAI's base64 encoding: the float32 values, little-endian, as base64. */
export function toBase64Float32(values: number[]): string {
  const buffer = Buffer.alloc(values.length * 4)
  for (const [i, value] of values.entries()) buffer.writeFloatLE(value, i * 4)
  return buffer.toString('base64')
}

/**
 * The OpenAI list. Gemini's embedding responses report no token counts, so usage is 0/0: a count
 * the gateway would have to guess is worse for budgets than one it says it does not have.
 */
export function fromGeminiEmbeddings(
  vectors: number[][],
  model: string,
  encoding: EmbeddingsRequest['encoding_format'],
): EmbeddingsResponse {
  return {
    object: 'list',
    model,
    data: vectors.map((values, index) => ({
      object: 'embedding',
      index,
      embedding: encoding === 'base64' ? toBase64Float32(values) : values,
    })),
    usage: { prompt_tokens: 0, total_tokens: 0 },
  }
}
