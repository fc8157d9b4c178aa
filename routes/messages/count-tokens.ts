// POST /v1/messages/count_tokens answers with an estimate: the gateway has no tokenizer for the
// models it serves, and most providers have no counting endpoint. The figures are rules of thumb,
// stated here so the answer can be judged: about 4 characters a token for text and JSON; an image
// at the 1,600 tokens Anthropic documents for the largest image it takes without resizing
// (https://docs.anthropic.com/en/docs/build-with-claude/vision#evaluate-image-size); a PDF page at
// 2,250, the middle of the 1,500-3,000 Anthropic documents per page
// (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support#estimate-your-costs).
import { Type } from '@sinclair/typebox'
import type { AnthropicContentBlock, AnthropicMessagesRequest } from '../../schemas/anthropic/messages.js'
import { AnthropicMessagesRequest as MessagesRequestSchema } from '../../schemas/anthropic/messages.js'

export const CountTokensRequest = Type.Omit(MessagesRequestSchema, ['max_tokens'], {
  description: 'Anthropic count_tokens request: the messages request without max_tokens',
})
export type CountTokensRequest = Omit<AnthropicMessagesRequest, 'max_tokens'>

export const CountTokensResponse = Type.Object(
  { input_tokens: Type.Integer() },
  { description: 'An estimate (about 4 characters a token), not the model tokenizer count' },
)

const charsPerToken = 4
const imageTokens = 1600
const pdfPageTokens = 2250

/** Page objects in a PDF (`/Type /Page`, not `/Pages`); compressed object streams hide them, hence the minimum of 1. */
function pdfPages(base64: string): number {
  const text = Buffer.from(base64, 'base64').toString('latin1')
  return Math.max(1, text.match(/\/Type\s*\/Page(?![A-Za-z])/g)?.length ?? 0)
}

interface Tally {
  chars: number
  tokens: number
}

function countBlock(block: AnthropicContentBlock, tally: Tally): void {
  switch (block.type) {
    case 'text':
      tally.chars += block.text.length
      return
    case 'image':
      tally.tokens += imageTokens
      return
    case 'document': {
      const source = block.source as { type: string; data?: unknown }
      if (typeof source.data !== 'string') tally.tokens += pdfPageTokens
      else if (source.type === 'base64') tally.tokens += pdfPages(source.data) * pdfPageTokens
      else tally.chars += source.data.length
      return
    }
    case 'tool_use':
      tally.chars += block.name.length + JSON.stringify(block.input ?? {}).length
      return
    case 'tool_result':
      if (typeof block.content === 'string') tally.chars += block.content.length
      else for (const item of block.content ?? []) countBlock(item, tally)
      return
    // Thinking from earlier turns is stripped from the context Anthropic bills
    // (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#how-context-window-is-calculated-with-extended-thinking).
    case 'thinking':
    case 'redacted_thinking':
      return
  }
}

export function estimateInputTokens(request: CountTokensRequest): number {
  const tally: Tally = { chars: 0, tokens: 0 }
  if (typeof request.system === 'string') tally.chars += request.system.length
  else for (const block of request.system ?? []) tally.chars += block.text.length
  for (const message of request.messages) {
    if (typeof message.content === 'string') tally.chars += message.content.length
    else for (const block of message.content) countBlock(block, tally)
  }
  for (const tool of request.tools ?? []) {
    tally.chars += JSON.stringify({ n: tool.name, d: tool.description, s: tool.input_schema }).length
  }
  return Math.ceil(tally.chars / charsPerToken) + tally.tokens
}
