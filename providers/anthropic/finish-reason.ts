// Anthropic stop_reason -> OpenAI finish_reason, one row per documented value.
// Reference: https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
import type { FinishReason } from '../../schemas/openai/chat.js'

const stopReasons = 'https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons'

interface FinishRow {
  finish: FinishReason
  doc: string
}

export const finishReasonMap: Readonly<Record<string, FinishRow>> = {
  // The model finished its answer naturally.
  end_turn: { finish: 'stop', doc: `${stopReasons}#end-turn` },
  // One of the request's stop_sequences fired; OpenAI reports its `stop` the same way.
  stop_sequence: { finish: 'stop', doc: `${stopReasons}#stop-sequence` },
  // The answer hit max_tokens and is truncated.
  max_tokens: { finish: 'length', doc: `${stopReasons}#max-tokens` },
  // The answer filled the context window: truncated as well.
  model_context_window_exceeded: { finish: 'length', doc: `${stopReasons}#model-context-window-exceeded` },
  // The model wants the client to run tools.
  tool_use: { finish: 'tool_calls', doc: `${stopReasons}#tool-use` },
  // A server-tool loop paused; the turn is over for this call, the client may send it back to continue.
  pause_turn: { finish: 'stop', doc: `${stopReasons}#pause-turn` },
  // The model declined for safety reasons: OpenAI's name for a filtered answer.
  refusal: { finish: 'content_filter', doc: `${stopReasons}#refusal` },
}

/**
 * The finish reason for a stop_reason. A value Anthropic adds later (its versioning policy allows
 * new values) reads as `stop` rather than failing an otherwise complete answer.
 */
export function toFinishReason(stopReason: string | null | undefined, answerTool: boolean): FinishReason {
  // With response_format json_schema the answer arrives as a forced tool call: for the client it is
  // the final message, not a tool call to run.
  if (answerTool && stopReason === 'tool_use') return 'stop'
  return (stopReason ? finishReasonMap[stopReason]?.finish : undefined) ?? 'stop'
}
