// Gemini GenerateContentResponse -> canonical ChatCompletion. Pure.
// Response body: https://ai.google.dev/api/generate-content#generatecontentresponse
import { upstreamBadResponse } from '../../plugins/gateway-error.js'
import type { AssistantResponseMessage, ChatCompletion, ToolCall } from '../../schemas/openai/chat.js'
import type { CompletionUsage } from '../../schemas/openai/usage.js'
import { blockedPromptFinish, toFinishReason } from './finish-reason.js'
import { toolCallId, withThoughtSignature } from './tool-call-id.js'
import type {
  GeminiCandidate,
  GeminiGenerateContentResponse,
  GeminiPart,
  GeminiUsageMetadata,
} from './wire.js'

/**
 * The assistant message with Gemini's thought summaries on it as `reasoning_content`, the field
 * DeepSeek, vLLM and the anthropic adapter use for reasoning text. Present only when the answer
 * had thought parts (they come only with thinkingConfig.includeThoughts; see request.ts).
 */
export type GeminiChatMessage = AssistantResponseMessage & { reasoning_content?: string }

export interface ResponseOptions {
  provider: string
  /** The upstream model asked for; used when the response has no modelVersion. */
  model: string
  /** Unix seconds; Gemini responses carry no timestamp. */
  created: number
  /** The completion id when the response has no responseId. */
  fallbackId: string
}

/**
 * usageMetadata (https://ai.google.dev/api/generate-content#UsageMetadata) -> OpenAI usage.
 * Thinking is output the client pays for, so completion_tokens = candidates + thoughts, with the
 * thoughts in reasoning_tokens (OpenAI counts reasoning inside completion_tokens the same way).
 * promptTokenCount already includes cached content, which OpenAI reports as cached_tokens.
 * toolUsePromptTokenCount (results of server-side tools) is input too.
 */
export function toUsage(usage: GeminiUsageMetadata | undefined): CompletionUsage {
  const prompt = (usage?.promptTokenCount ?? 0) + (usage?.toolUsePromptTokenCount ?? 0)
  const thoughts = usage?.thoughtsTokenCount ?? 0
  const completion = (usage?.candidatesTokenCount ?? 0) + thoughts
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage?.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: usage?.cachedContentTokenCount ?? 0 },
    completion_tokens_details: { reasoning_tokens: thoughts },
  }
}

type FunctionToolCall = Extract<ToolCall, { type: 'function' }>

export interface ToolCallSource {
  responseId: string | undefined
  candidate: number
  /** The call's position among the candidate's calls (counted across stream chunks). */
  call: number
}

/** One functionCall part -> an OpenAI tool call; the whole call always arrives in one part. */
export function toToolCall(part: GeminiPart, source: ToolCallSource): FunctionToolCall {
  const call = part.functionCall!
  const args = call.args ?? {}
  const toolCall: FunctionToolCall = {
    id: toolCallId({ ...source, name: call.name, args }),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(args) },
  }
  return withThoughtSignature(toolCall, part.thoughtSignature)
}

/** What a candidate's parts say, split the way OpenAI's message splits them. */
export interface CandidateParts {
  text: string
  reasoning: string
  toolCalls: FunctionToolCall[]
}

export function splitParts(parts: GeminiPart[], source: ToolCallSource): CandidateParts {
  const out: CandidateParts = { text: '', reasoning: '', toolCalls: [] }
  for (const part of parts) {
    if (part.functionCall) {
      out.toolCalls.push(toToolCall(part, { ...source, call: source.call + out.toolCalls.length }))
    } else if (typeof part.text === 'string') {
      if (part.thought) out.reasoning += part.text
      else out.text += part.text
    }
    // inlineData, executableCode...: outputs of features (image output, code execution) this
    // adapter never turns on, so a response never carries them.
  }
  return out
}

export const candidateIndex = (candidate: GeminiCandidate, position: number) => candidate.index ?? position

function toChoice(candidate: GeminiCandidate, position: number, responseId: string | undefined) {
  const index = candidateIndex(candidate, position)
  const { text, reasoning, toolCalls } = splitParts(candidate.content?.parts ?? [], {
    responseId,
    candidate: index,
    call: 0,
  })
  const message: GeminiChatMessage = {
    role: 'assistant',
    // OpenAI's shape: null beside tool calls without text, a string otherwise (empty included).
    content: text !== '' || toolCalls.length === 0 ? text : null,
    refusal: null,
  }
  if (toolCalls.length > 0) message.tool_calls = toolCalls
  if (reasoning !== '') message.reasoning_content = reasoning
  return {
    index,
    message,
    finish_reason: toFinishReason(candidate.finishReason, toolCalls.length > 0),
    logprobs: null,
  }
}

export function fromGeminiResponse(
  response: GeminiGenerateContentResponse,
  options: ResponseOptions,
): ChatCompletion {
  const candidates = response.candidates ?? []
  const choices = candidates.map((candidate, i) => toChoice(candidate, i, response.responseId))
  if (choices.length === 0) {
    if (!response.promptFeedback?.blockReason) {
      throw upstreamBadResponse(
        options.provider,
        'the response had no candidates and no promptFeedback.blockReason',
      )
    }
    choices.push({
      index: 0,
      message: { role: 'assistant', content: '', refusal: null },
      finish_reason: blockedPromptFinish,
      logprobs: null,
    })
  }
  choices.sort((a, b) => a.index - b.index)
  return {
    id: response.responseId ? `chatcmpl-${response.responseId}` : options.fallbackId,
    object: 'chat.completion',
    created: options.created,
    model: response.modelVersion ?? options.model,
    choices,
    usage: toUsage(response.usageMetadata),
  }
}
