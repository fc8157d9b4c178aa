// Tool call ids and thought signatures: what an OpenAI tool call carries that Gemini's has not, and
// back. Pure.
import { createHash } from 'node:crypto'
import type { ToolCall } from '../../schemas/openai/chat.js'

export interface ToolCallSeed {
  /** GenerateContentResponse.responseId: the same on every chunk of one stream. */
  responseId: string | undefined
  candidate: number
  /** The call's position among this candidate's function calls. */
  call: number
  name: string
  args: unknown
}

/**
 * Gemini function calls have no ids (https://ai.google.dev/api/caching#FunctionCall) and its function
 * responses are matched by name, so the id only has to be unique and reproducible: `call_` + 24
 * base64url characters of a SHA-256 over the response id, candidate, position, name and arguments.
 * The same answer streamed or not gets the same ids. A later `tool` message is tied back to the
 * function name by looking its id up in the assistant message that made the call
 * (request-messages.ts), never by decoding the id.
 */
export function toolCallId(seed: ToolCallSeed): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([seed.responseId ?? '', seed.candidate, seed.call, seed.name, seed.args ?? {}]))
    .digest('base64url')
  return `call_${digest.slice(0, 24)}`
}

/**
 * Where a Gemini thought signature rides on an OpenAI tool call: `extra_content.google.thought_signature`,
 * the field Google's own OpenAI-compatible endpoint uses
 * (https://ai.google.dev/gemini-api/docs/thought-signatures). Clients that send the assistant message
 * back unchanged return it, and request-messages.ts restores it on the functionCall part.
 */
export interface ThoughtSignatureCarrier {
  extra_content?: { google?: { thought_signature?: string } }
}

export function withThoughtSignature<T extends object>(call: T, signature: string | undefined): T {
  if (!signature) return call
  return { ...call, extra_content: { google: { thought_signature: signature } } }
}

export function thoughtSignatureOf(call: ToolCall): string | undefined {
  const signature = (call as ThoughtSignatureCarrier).extra_content?.google?.thought_signature
  return typeof signature === 'string' && signature !== '' ? signature : undefined
}
