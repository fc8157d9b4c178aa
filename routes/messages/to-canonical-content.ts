// Anthropic messages and content blocks -> canonical (OpenAI-shaped) messages.
// Block reference: https://docs.anthropic.com/en/api/messages (messages[].content);
// target shapes: https://platform.openai.com/docs/api-reference/chat/create (messages).
import { GatewayError } from '../../plugins/gateway-error.js'
import type { AnthropicContentBlock, AnthropicMessageParam } from '../../schemas/anthropic/messages.js'
import type { ChatMessage, ContentPart, ToolCall } from '../../schemas/openai/chat.js'

/** Who will answer: named in every 400 so the client knows why a block can't be sent there. */
export interface CanonicalTarget {
  /** The public model name the client asked for. */
  model: string
  provider: string
  /** The provider type (openai, ollama, gemini...): decides the max-tokens field. */
  type: string
}

type Block<T extends AnthropicContentBlock['type']> = Extract<AnthropicContentBlock, { type: T }>

export function untranslatable(param: string, what: string, target: CanonicalTarget): GatewayError {
  return new GatewayError(
    400,
    `${param}: ${what} cannot be translated for model \`${target.model}\` (provider "${target.provider}", ` +
      `type ${target.type}). Change the request, or choose a model served by a native Anthropic provider.`,
    'invalid_request_error',
    'unsupported_feature',
    param,
  )
}

function toImagePart(block: Block<'image'>, param: string, target: CanonicalTarget): ContentPart {
  const source = block.source
  if (source.type === 'base64') {
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } }
  }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } }
  // A file_id names a file in Anthropic's Files API; no other provider can read it.
  throw untranslatable(`${param}.source`, 'an image with a `file` source (Anthropic Files API)', target)
}

/** PDFs become OpenAI file parts and plain-text documents text parts; other sources have no equivalent. */
function toDocumentPart(block: Block<'document'>, param: string, target: CanonicalTarget): ContentPart {
  const source = block.source as { type: string; media_type?: unknown; data?: unknown }
  if (
    source.type === 'base64' &&
    source.media_type === 'application/pdf' &&
    typeof source.data === 'string'
  ) {
    const title = (block as { title?: unknown }).title
    const filename = typeof title === 'string' && title !== '' ? title : 'document.pdf'
    return { type: 'file', file: { filename, file_data: `data:application/pdf;base64,${source.data}` } }
  }
  if (source.type === 'text' && typeof source.data === 'string') return { type: 'text', text: source.data }
  throw untranslatable(`${param}.source`, `a document with a \`${source.type}\` source`, target)
}

const asContent = (parts: ContentPart[]): string | ContentPart[] =>
  parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : parts

/**
 * A tool_result becomes a `tool` message. OpenAI tool messages carry text only, so images in the
 * result are returned apart, to be sent in the user message that follows the tool messages.
 * is_error has no field in OpenAI: the text is prefixed with "Error: " so the model still knows.
 */
function toToolMessage(
  block: Block<'tool_result'>,
  param: string,
  target: CanonicalTarget,
): { message: ChatMessage; images: ContentPart[] } {
  const items =
    typeof block.content === 'string' ? [{ type: 'text' as const, text: block.content }] : block.content
  const texts: string[] = []
  const images: ContentPart[] = []
  for (const [k, item] of (items ?? []).entries()) {
    if (item.type === 'text') texts.push(item.text)
    else images.push(toImagePart(item, `${param}.content[${k}]`, target))
  }
  const text = texts.join('\n')
  const content = block.is_error === true ? `Error: ${text}` : text
  const label: ContentPart[] =
    images.length > 0 ? [{ type: 'text', text: `Image(s) returned by tool call ${block.tool_use_id}:` }] : []
  return {
    message: { role: 'tool', tool_call_id: block.tool_use_id, content },
    images: [...label, ...images],
  }
}

/**
 * A user message may hold tool results and ordinary content. Tool messages must directly follow the
 * assistant message that made the calls, so each run of tool results is emitted first, then the
 * user's own content (and any images the tools returned) as one user message.
 */
function fromUserMessage(message: AnthropicMessageParam, at: string, target: CanonicalTarget): ChatMessage[] {
  if (typeof message.content === 'string') return [{ role: 'user', content: message.content }]
  const out: ChatMessage[] = []
  let parts: ContentPart[] = []
  let toolImages: ContentPart[] = []
  const flush = () => {
    parts = [...toolImages, ...parts]
    toolImages = []
    if (parts.length > 0) out.push({ role: 'user', content: asContent(parts) })
    parts = []
  }
  message.content.forEach((block, j) => {
    const param = `${at}.content[${j}]`
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: block.text })
        return
      case 'image':
        parts.push(toImagePart(block, param, target))
        return
      case 'document':
        parts.push(toDocumentPart(block, param, target))
        return
      case 'tool_result': {
        // Content the user wrote before a tool result keeps its place.
        if (parts.length > 0) flush()
        const { message: tool, images } = toToolMessage(block, param, target)
        out.push(tool)
        toolImages.push(...images)
        return
      }
      case 'tool_use':
      case 'thinking':
      case 'redacted_thinking':
        throw new GatewayError(
          400,
          `${param}: a \`${block.type}\` block may only appear in an assistant message.`,
          'invalid_request_error',
          'invalid_value',
          param,
        )
      default:
        // Block types newer than this translation: named, not dropped.
        throw untranslatable(param, `a \`${(block as { type: string }).type}\` block`, target)
    }
  })
  flush()
  // An empty content array still is a user turn; OpenAI takes it as empty text.
  return out.length > 0 ? out : [{ role: 'user', content: '' }]
}

/**
 * Text blocks become the content and tool_use blocks tool_calls. Thinking blocks are dropped:
 * OpenAI-shaped APIs take no reasoning in input messages, and their signatures are only valid
 * for Anthropic. A message left empty (it only held thinking) is dropped with them.
 */
function fromAssistantMessage(
  message: AnthropicMessageParam,
  at: string,
  target: CanonicalTarget,
): ChatMessage[] {
  if (typeof message.content === 'string') {
    return message.content === '' ? [] : [{ role: 'assistant', content: message.content }]
  }
  const texts: string[] = []
  const toolCalls: ToolCall[] = []
  message.content.forEach((block, j) => {
    switch (block.type) {
      case 'text':
        texts.push(block.text)
        return
      case 'tool_use':
        toolCalls.push({
          id: block.id,
          type: 'function',
          function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
        })
        return
      case 'thinking':
      case 'redacted_thinking':
        return
      default:
        throw untranslatable(
          `${at}.content[${j}]`,
          `a \`${block.type}\` block in an assistant message`,
          target,
        )
    }
  })
  if (texts.length === 0 && toolCalls.length === 0) return []
  const content =
    texts.length === 0
      ? null
      : texts.length === 1
        ? texts[0]!
        : texts.map((text) => ({ type: 'text' as const, text }))
  return [{ role: 'assistant', content, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }]
}

export function toCanonicalMessages(
  messages: AnthropicMessageParam[],
  target: CanonicalTarget,
): ChatMessage[] {
  return messages.flatMap((message, i) =>
    message.role === 'user'
      ? fromUserMessage(message, `messages[${i}]`, target)
      : fromAssistantMessage(message, `messages[${i}]`, target),
  )
}

/** System text blocks are joined into one system message, paragraph by paragraph. */
export function toSystemMessage(system: string | { text: string }[] | undefined): ChatMessage[] {
  const text = typeof system === 'string' ? system : (system ?? []).map((block) => block.text).join('\n\n')
  return text === '' ? [] : [{ role: 'system', content: text }]
}
