// The numbers Anthropic needs that OpenAI requests leave out: max_tokens (required by Anthropic,
// optional in OpenAI) and the thinking budget behind reasoning_effort.

/**
 * max_tokens when the client sets neither max_completion_tokens nor max_tokens, by model family.
 * Each default is at most the family's documented output limit
 * (https://platform.claude.com/docs/en/about-claude/models/overview, "Max output"):
 * Claude 3 models stop at 4,096 output tokens and Claude 3.5 at 8,192; 3.7 and every later family
 * allow 32k or more, where 16,384 leaves room for long answers without reserving the whole window.
 * A provider's `options.default_max_tokens` replaces the table.
 */
export const defaultMaxTokensTable: ReadonlyArray<{ family: RegExp; maxTokens: number }> = [
  { family: /^claude-3-(opus|sonnet|haiku)-/, maxTokens: 4096 },
  { family: /^claude-3-5-/, maxTokens: 8192 },
  { family: /^claude-/, maxTokens: 16_384 },
]

/** Models under a name the table doesn't know (a proxy, a fine-tune) get the conservative value. */
export const fallbackMaxTokens = 4096

export function defaultMaxTokens(model: string, configured: number | undefined): number {
  if (configured !== undefined) return configured
  return defaultMaxTokensTable.find((row) => row.family.test(model))?.maxTokens ?? fallbackMaxTokens
}

/**
 * reasoning_effort -> thinking.budget_tokens. Anthropic takes a token budget of at least 1,024 that
 * must stay below max_tokens (https://platform.claude.com/docs/en/build-with-claude/extended-thinking).
 * minimal and low use that minimum; medium and high quadruple it step by step. `none` (OpenAI's
 * "no reasoning") sends no thinking at all.
 */
export const thinkingBudgets: Readonly<Record<string, number | null>> = {
  none: null,
  minimal: 1024,
  low: 1024,
  medium: 4096,
  high: 16_384,
}

/** Anthropic's temperature range: https://platform.claude.com/docs/en/api/messages (temperature). */
export const maxTemperature = 1

/** With thinking on, top_p may only be between 0.95 and 1 (extended-thinking, feature compatibility). */
export const minTopPWithThinking = 0.95
