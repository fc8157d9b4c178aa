// The mock provider's answers, as pure functions of the request: the same request always gets the
// same answer, so tests and demos can assert exact output without any network.
import { createHash } from 'node:crypto'
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  FinishReason,
  ToolCall,
} from '../../schemas/openai/chat.js'
import type { CompletionUsage } from '../../schemas/openai/usage.js'

export const mockModels = ['echo', 'fixed', 'tools', 'embed'] as const
export const defaultFixedResponse = "Hello from AnyGate's mock provider."

export interface MockPlan {
  text: string | null
  toolCalls: ToolCall[]
  finishReason: FinishReason
  usage: CompletionUsage
}

/** Rough token count (4 characters a token); the mock has no tokenizer of its own to be exact with. */
export const estimateTokens = (text: string) => (text.length === 0 ? 0 : Math.ceil(text.length / 4))

export function messageText(message: ChatMessage): string {
  const content = message.content
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('')
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role === 'user') return messageText(message)
  }
  return ''
}

function truncateToTokens(text: string, maxTokens: number | null | undefined): [string, boolean] {
  if (!maxTokens || estimateTokens(text) <= maxTokens) return [text, false]
  return [text.slice(0, maxTokens * 4), true]
}

export function planMockAnswer(request: ChatCompletionRequest, model: string, fixed?: string): MockPlan {
  const promptTokens = request.messages.reduce((sum, m) => sum + estimateTokens(messageText(m)) + 3, 0)
  const firstTool = request.tools?.find((tool) => tool.type === 'function')
  if (model === 'tools' && firstTool && request.tool_choice !== 'none' && firstTool.type === 'function') {
    const call: ToolCall = {
      id: `call_${createHash('sha256').update(JSON.stringify(request.messages)).digest('hex').slice(0, 24)}`,
      type: 'function',
      function: {
        name: firstTool.function.name,
        arguments: JSON.stringify({ input: lastUserText(request.messages) }),
      },
    }
    const completionTokens = estimateTokens(call.function.arguments) + 5
    return {
      text: null,
      toolCalls: [call],
      finishReason: 'tool_calls',
      usage: usageOf(promptTokens, completionTokens),
    }
  }
  const full = fixed ?? (model === 'fixed' ? defaultFixedResponse : lastUserText(request.messages))
  const [text, truncated] = truncateToTokens(full, request.max_completion_tokens ?? request.max_tokens)
  return {
    text,
    toolCalls: [],
    finishReason: truncated ? 'length' : 'stop',
    usage: usageOf(promptTokens, estimateTokens(text)),
  }
}

const usageOf = (prompt: number, completion: number): CompletionUsage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
})

export interface ResponseMeta {
  id: string
  created: number
  model: string
  n: number
}

export function toMockCompletion(plan: MockPlan, meta: ResponseMeta): ChatCompletion {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: Array.from({ length: meta.n }, (_, index) => ({
      index,
      message: {
        role: 'assistant' as const,
        content: plan.text,
        refusal: null,
        ...(plan.toolCalls.length > 0 ? { tool_calls: plan.toolCalls } : {}),
      },
      finish_reason: plan.finishReason,
      logprobs: null,
    })),
    usage: {
      ...plan.usage,
      completion_tokens: plan.usage.completion_tokens * meta.n,
      total_tokens: plan.usage.prompt_tokens + plan.usage.completion_tokens * meta.n,
    },
  }
}

/** Splits text the way a tokenizer streams it: each piece a word with its leading space. */
export const splitIntoTokens = (text: string): string[] => text.match(/\s*\S+|\s+/g) ?? []

/** The chunk sequence OpenAI sends: role, content pieces (or tool-call deltas), finish, usage. */
export function* toMockChunks(plan: MockPlan, meta: ResponseMeta): Generator<ChatCompletionChunk> {
  const base = {
    id: meta.id,
    object: 'chat.completion.chunk' as const,
    created: meta.created,
    model: meta.model,
  }
  const chunk = (
    index: number,
    delta: ChatCompletionChunk['choices'][number]['delta'],
  ): ChatCompletionChunk => ({
    ...base,
    choices: [{ index, delta, finish_reason: null, logprobs: null }],
  })
  for (let index = 0; index < meta.n; index++) {
    yield chunk(index, { role: 'assistant', content: plan.text === null ? null : '', refusal: null })
    for (const piece of splitIntoTokens(plan.text ?? '')) yield chunk(index, { content: piece })
    for (const [i, call] of plan.toolCalls.entries()) {
      if (call.type !== 'function') continue
      yield chunk(index, {
        tool_calls: [
          { index: i, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
        ],
      })
      for (const piece of call.function.arguments.match(/.{1,8}/gs) ?? []) {
        yield chunk(index, { tool_calls: [{ index: i, function: { arguments: piece } }] })
      }
    }
    yield { ...base, choices: [{ index, delta: {}, finish_reason: plan.finishReason, logprobs: null }] }
  }
  const completion = plan.usage.completion_tokens * meta.n
  yield {
    ...base,
    choices: [],
    usage: {
      ...plan.usage,
      completion_tokens: completion,
      total_tokens: plan.usage.prompt_tokens + completion,
    },
  }
}

/** A unit vector derived from the text's hash: equal inputs embed equally, different ones differ. */
export function mockEmbedding(input: string | number[], dimensions: number): number[] {
  const seed = typeof input === 'string' ? input : input.join(',')
  const values: number[] = []
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${seed}`).digest()
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) {
      values.push(digest.readUInt16BE(i) / 32767.5 - 1)
    }
  }
  const norm = Math.hypot(...values) || 1
  return values.map((v) => v / norm)
}

export function encodeFloat32Base64(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString('base64')
}
