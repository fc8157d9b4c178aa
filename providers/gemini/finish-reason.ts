// Gemini finishReason / promptFeedback.blockReason -> OpenAI finish_reason, one row per documented
// value. FinishReason: https://ai.google.dev/api/generate-content#FinishReason
// BlockReason: https://ai.google.dev/api/generate-content#BlockReason
import type { FinishReason } from '../../schemas/openai/chat.js'

const finishDoc = 'https://ai.google.dev/api/generate-content#FinishReason'

interface FinishRow {
  finish: FinishReason
  doc: string
}

export const finishReasonMap: Readonly<Record<string, FinishRow>> = {
  // Natural end of the answer, or one of stopSequences fired (OpenAI reports `stop` the same way).
  STOP: { finish: 'stop', doc: finishDoc },
  // maxOutputTokens reached: the answer is truncated.
  MAX_TOKENS: { finish: 'length', doc: finishDoc },
  // The per-request token limit cut the answer before it was complete: truncated as well.
  CONTINUATION: { finish: 'length', doc: finishDoc },
  // Every block of the answer by a filter is OpenAI's content_filter.
  SAFETY: { finish: 'content_filter', doc: finishDoc },
  RECITATION: { finish: 'content_filter', doc: finishDoc },
  BLOCKLIST: { finish: 'content_filter', doc: finishDoc },
  PROHIBITED_CONTENT: { finish: 'content_filter', doc: finishDoc },
  SPII: { finish: 'content_filter', doc: finishDoc },
  IMAGE_SAFETY: { finish: 'content_filter', doc: finishDoc },
  IMAGE_PROHIBITED_CONTENT: { finish: 'content_filter', doc: finishDoc },
  IMAGE_RECITATION: { finish: 'content_filter', doc: finishDoc },
  // The model produced a function call Gemini could not parse: no call reaches the client, so
  // `tool_calls` would promise calls that are not there. `stop` ends the turn with whatever text
  // came with it (often none); retrying the request is the usual remedy.
  MALFORMED_FUNCTION_CALL: { finish: 'stop', doc: finishDoc },
  // A tool call the request did not allow, or too many in a row: the turn ended without a usable call.
  UNEXPECTED_TOOL_CALL: { finish: 'stop', doc: finishDoc },
  TOO_MANY_TOOL_CALLS: { finish: 'stop', doc: finishDoc },
  // Unsupported language, no image generated, other: the answer ended for a reason OpenAI has no name for.
  LANGUAGE: { finish: 'stop', doc: finishDoc },
  NO_IMAGE: { finish: 'stop', doc: finishDoc },
  IMAGE_OTHER: { finish: 'stop', doc: finishDoc },
  OTHER: { finish: 'stop', doc: finishDoc },
  FINISH_REASON_UNSPECIFIED: { finish: 'stop', doc: finishDoc },
}

/**
 * The finish reason for a candidate. A candidate that made function calls and ended normally asks
 * the client to run them (`tool_calls`); Gemini reports such a turn as STOP. A value Gemini adds
 * later reads as `stop` rather than failing an otherwise complete answer.
 */
export function toFinishReason(finishReason: string | undefined, madeToolCalls: boolean): FinishReason {
  const finish = (finishReason ? finishReasonMap[finishReason]?.finish : undefined) ?? 'stop'
  return finish === 'stop' && madeToolCalls ? 'tool_calls' : finish
}

/**
 * A prompt blocked before any candidate (promptFeedback.blockReason: SAFETY, BLOCKLIST,
 * PROHIBITED_CONTENT, IMAGE_SAFETY, OTHER...) is answered as one empty choice with
 * finish_reason `content_filter`, which is how OpenAI reports a filtered prompt's answer; the
 * request itself was valid, so it is not turned into an error.
 */
export const blockedPromptFinish: FinishReason = 'content_filter'
