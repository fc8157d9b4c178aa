// How many tokens a request will cost, known before the call: token limits reserve it and budgets
// check it, then both settle with the usage the provider reports. Exact for the prompt text of
// OpenAI-family models (their tokenizer, and the per-message framing OpenAI documents); an estimate
// for everything else, with the rules of thumb stated below so the figures can be judged:
// - other models: about 4 characters a token (routes/messages/count-tokens.ts does the same for
//   the Anthropic format and is reused for it);
// - an image: 765 tokens for OpenAI models, a 1024×1024 image at high detail (85 + 4 tiles × 170,
//   https://platform.openai.com/docs/guides/images-vision#calculating-costs), 85 at detail "low";
//   1,600 for other models, the figure count-tokens.ts uses; audio and file parts count like an
//   image, since their size in tokens cannot be known without decoding them;
// - tool and response-format definitions: their JSON text, counted like prompt text (OpenAI
//   renders them into the prompt in an undocumented format, so this is close, not exact).
// Work is bounded so a huge prompt cannot turn the estimator into a CPU sink: strings are
// tokenized in chunks of at most 1,000 characters (BPE cost grows with the square of a piece's
// length: 100,000 unbroken CJK characters take ~50 s in one piece), and after 32,000 characters
// the rest is counted at the tokens-per-character ratio measured on what was tokenized.

import { type CountTokensRequest, estimateInputTokens } from '../../routes/messages/count-tokens.js'
import type { InferenceKind } from '../call-record.js'
import { countWithEncoding, type EncodingName, encodingForModel } from './encoders.js'

export interface TokenEstimate {
  /** Tokens the request sends. */
  prompt: number
  /** The most tokens the answer may have (max_completion_tokens or max_tokens, times n); undefined when unbounded. */
  maxOutput: number | undefined
}

const charsPerToken = 4
// Every chat message is framed as <|start|>{role/name}\n{content}<|end|>\n, and the reply is primed
// with <|start|>assistant<|message|> (OpenAI cookbook, "How to count tokens with tiktoken").
const tokensPerMessage = 3
const tokensPerName = 1
const replyPriming = 3
const openAIImageTokens = 765
const openAILowDetailImageTokens = 85
const otherImageTokens = 1600

export const tokenizedCharsPerRequest = 32_000
const chunkChars = 1000

/** Counts text for one request, within the work bound described above. */
class TextCounter {
  private tokenized = 0
  private tokenizedChars = 0
  private deferredChars = 0
  private fixed = 0

  constructor(private readonly encoding: EncodingName | undefined) {}

  text(value: unknown): void {
    if (typeof value !== 'string' || value.length === 0) return
    if (!this.encoding) {
      this.deferredChars += value.length
      return
    }
    let start = 0
    while (start < value.length && this.tokenizedChars < tokenizedCharsPerRequest) {
      const end = chunkEnd(value, start)
      this.tokenized += countWithEncoding(this.encoding, value.slice(start, end))
      this.tokenizedChars += end - start
      start = end
    }
    this.deferredChars += value.length - start
  }

  tokens(count: number): void {
    this.fixed += count
  }

  image(detail: unknown): void {
    if (!this.encoding) this.fixed += otherImageTokens
    else this.fixed += detail === 'low' ? openAILowDetailImageTokens : openAIImageTokens
  }

  total(): number {
    const ratio = this.tokenizedChars > 0 ? this.tokenized / this.tokenizedChars : 1 / charsPerToken
    return this.tokenized + Math.ceil(this.deferredChars * ratio) + this.fixed
  }
}

/** Ends a chunk at a space when one is near, so the split rarely lands inside a word. */
function chunkEnd(value: string, start: number): number {
  const limit = start + chunkChars
  if (limit >= value.length) return value.length
  const space = value.lastIndexOf(' ', limit)
  return space > start + chunkChars / 2 ? space : limit
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function countContent(content: unknown, counter: TextCounter): void {
  if (typeof content === 'string') counter.text(content)
  if (!Array.isArray(content)) return
  for (const part of content) {
    if (!isRecord(part)) continue
    if (part.type === 'text') counter.text(part.text)
    else if (part.type === 'refusal') counter.text(part.refusal)
    else if (part.type === 'image_url')
      counter.image(isRecord(part.image_url) ? part.image_url.detail : undefined)
    else counter.image(undefined)
  }
}

function countChat(body: Record<string, unknown>, counter: TextCounter): void {
  const messages = Array.isArray(body.messages) ? body.messages : []
  for (const message of messages) {
    if (!isRecord(message)) continue
    counter.tokens(tokensPerMessage)
    counter.text(message.role)
    countContent(message.content, counter)
    if (typeof message.name === 'string') {
      counter.tokens(tokensPerName)
      counter.text(message.name)
    }
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined
        if (fn) {
          counter.text(fn.name)
          counter.text(fn.arguments)
        }
      }
    }
    if (isRecord(message.function_call)) {
      counter.text(message.function_call.name)
      counter.text(message.function_call.arguments)
    }
  }
  counter.tokens(replyPriming)
  for (const definitions of [body.tools, body.functions]) {
    if (Array.isArray(definitions) && definitions.length > 0) counter.text(JSON.stringify(definitions))
  }
  if (isRecord(body.response_format) && body.response_format.type === 'json_schema') {
    counter.text(JSON.stringify(body.response_format))
  }
}

function countEmbeddingsInput(input: unknown, counter: TextCounter): void {
  if (typeof input === 'string') counter.text(input)
  if (!Array.isArray(input)) return
  for (const item of input) {
    if (typeof item === 'string') counter.text(item)
    // Token ids: one token each, whatever the model.
    else if (typeof item === 'number') counter.tokens(1)
    else if (Array.isArray(item)) counter.tokens(item.length)
  }
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

function maxOutputOf(body: Record<string, unknown>): number | undefined {
  const perChoice = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens)
  if (perChoice === undefined) return undefined
  return perChoice * (positiveInteger(body.n) ?? 1)
}

/** count-tokens.ts trusts a validated body; a malformed one falls back to its JSON length. */
function estimateMessagesPrompt(body: Record<string, unknown>): number {
  try {
    return estimateInputTokens(body as unknown as CountTokensRequest)
  } catch {
    return Math.ceil(JSON.stringify(body).length / charsPerToken)
  }
}

/**
 * The tokens a request will cost before it is sent. `model` is the model the caller knows (public
 * name, "<provider>/<model>" or upstream id): OpenAI-family names get the real tokenizer. Never
 * throws, whatever the body: it runs before and after validation alike.
 */
export function estimateTokens(kind: InferenceKind, body: unknown, model: string): TokenEstimate {
  if (!isRecord(body)) return { prompt: 0, maxOutput: undefined }
  const last = lastEstimates.get(body)
  if (last && last.kind === kind && last.model === model) return last.estimate
  const estimate = Object.freeze(estimateBody(kind, body, model))
  lastEstimates.set(body, { kind, model, estimate })
  return estimate
}

// Token limits and budgets both estimate the same request body (parsed once, never mutated before
// the router): the second one gets the first one's answer instead of tokenizing again.
const lastEstimates = new WeakMap<object, { kind: InferenceKind; model: string; estimate: TokenEstimate }>()

function estimateBody(kind: InferenceKind, body: Record<string, unknown>, model: string): TokenEstimate {
  if (kind === 'messages') {
    return { prompt: estimateMessagesPrompt(body), maxOutput: positiveInteger(body.max_tokens) }
  }
  const counter = new TextCounter(encodingForModel(model))
  if (kind === 'embeddings') {
    countEmbeddingsInput(body.input, counter)
    return { prompt: counter.total(), maxOutput: undefined }
  }
  countChat(body, counter)
  return { prompt: counter.total(), maxOutput: maxOutputOf(body) }
}
