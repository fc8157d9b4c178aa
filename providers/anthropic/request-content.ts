// OpenAI content parts -> Anthropic content blocks.
// Blocks: https://platform.claude.com/docs/en/api/messages (content); images:
// https://platform.claude.com/docs/en/build-with-claude/vision; PDFs:
// https://platform.claude.com/docs/en/build-with-claude/pdf-support
import type { ContentPart } from '../../schemas/openai/chat.js'
import { invalidInput, unsupportedInput } from './input-errors.js'
import type { AnthropicContentBlock, AnthropicImageBlock, AnthropicTextBlock } from './wire.js'

type DocumentBlock = Extract<AnthropicContentBlock, { type: 'document' }> & {
  source: { type: 'base64'; media_type: 'application/pdf'; data: string }
  title?: string
}

/** The image types Anthropic accepts (vision guide, "Ensuring image quality"). */
export const imageMediaTypes: ReadonlySet<string> = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
])

interface DataUrl {
  mediaType: string
  data: string
}

/** `data:<media type>;base64,<data>`, the only data: form worth sending: Anthropic takes base64. */
export function parseBase64DataUrl(url: string): DataUrl | null {
  const match = /^data:([^;,]+)((?:;[^;,]+)*);base64,(.*)$/s.exec(url)
  if (!match) return null
  return { mediaType: match[1]!.toLowerCase(), data: match[3]! }
}

/** Clients that know Anthropic put cache_control on OpenAI parts; it is kept (prompt caching). */
function cacheControlOf(part: object): { cache_control?: { type: string } } {
  const value = (part as { cache_control?: unknown }).cache_control
  if (value && typeof value === 'object' && typeof (value as { type?: unknown }).type === 'string') {
    return { cache_control: value as { type: string } }
  }
  return {}
}

export interface PartContext {
  provider: string
  /** Where the part sits, for error messages: `messages[2].content[1]`. */
  param: string
}

export function toTextBlock(text: string, part: object = {}): AnthropicTextBlock {
  return { type: 'text', text, ...cacheControlOf(part) }
}

export function toImageBlock(url: string, part: object, ctx: PartContext): AnthropicImageBlock {
  const param = `${ctx.param}.image_url.url`
  if (url.startsWith('data:')) {
    const parsed = parseBase64DataUrl(url)
    if (!parsed) throw invalidInput(ctx.provider, param, 'must be a base64 data: URL or an http(s) URL')
    if (!imageMediaTypes.has(parsed.mediaType)) {
      throw unsupportedInput(
        ctx.provider,
        param,
        `images of type ${parsed.mediaType} (it takes ${[...imageMediaTypes].join(', ')})`,
      )
    }
    return {
      type: 'image',
      source: { type: 'base64', media_type: parsed.mediaType, data: parsed.data },
      ...cacheControlOf(part),
    }
  }
  if (/^https?:\/\//i.test(url))
    return { type: 'image', source: { type: 'url', url }, ...cacheControlOf(part) }
  throw invalidInput(ctx.provider, param, 'must be a base64 data: URL or an http(s) URL')
}

/** OpenAI file parts carry PDFs as `file_data: data:application/pdf;base64,...`. */
function toDocumentBlock(part: Extract<ContentPart, { type: 'file' }>, ctx: PartContext): DocumentBlock {
  const { file_data: fileData, file_id: fileId, filename } = part.file
  if (fileId !== undefined) {
    throw unsupportedInput(ctx.provider, `${ctx.param}.file.file_id`, 'OpenAI file ids (send file_data)')
  }
  const parsed = fileData ? parseBase64DataUrl(fileData) : null
  if (parsed?.mediaType !== 'application/pdf') {
    throw unsupportedInput(
      ctx.provider,
      `${ctx.param}.file.file_data`,
      'file parts other than base64 PDF data (data:application/pdf;base64,...)',
    )
  }
  const block: DocumentBlock = {
    type: 'document',
    source: { type: 'base64', media_type: 'application/pdf', data: parsed.data },
    ...cacheControlOf(part),
  }
  // The document title is what Anthropic shows the model in place of a file name.
  if (filename) block.title = filename
  return block
}

export type PartRole = 'system' | 'user' | 'assistant' | 'tool'

/**
 * One part -> one block, or null for empty text (Anthropic rejects empty text blocks and an empty
 * string carries nothing). What a role cannot hold is a 400 naming the part.
 */
export function toContentBlock(
  part: ContentPart,
  role: PartRole,
  ctx: PartContext,
): AnthropicContentBlock | null {
  switch (part.type) {
    case 'text':
      return part.text === '' ? null : toTextBlock(part.text, part)
    case 'refusal':
      // An earlier assistant refusal is what the assistant said: it goes back as its text.
      if (role === 'assistant') return part.refusal === '' ? null : toTextBlock(part.refusal, part)
      throw unsupportedInput(ctx.provider, ctx.param, `refusal parts in ${role} messages`)
    case 'image_url':
      if (role === 'user' || role === 'tool') return toImageBlock(part.image_url.url, part, ctx)
      throw unsupportedInput(ctx.provider, ctx.param, `image parts in ${role} messages`)
    case 'file':
      if (role === 'user') return toDocumentBlock(part, ctx)
      throw unsupportedInput(ctx.provider, ctx.param, `file parts in ${role} messages`)
    case 'input_audio':
      throw unsupportedInput(ctx.provider, ctx.param, 'input_audio content parts')
    default:
      throw unsupportedInput(
        ctx.provider,
        ctx.param,
        `content parts of type ${(part as { type: string }).type}`,
      )
  }
}

/** A message's `content` (string or parts) -> blocks, empty text left out. */
export function toContentBlocks(
  content: string | ContentPart[] | null | undefined,
  role: PartRole,
  ctx: PartContext,
): AnthropicContentBlock[] {
  if (content === null || content === undefined || content === '') return []
  if (typeof content === 'string') return [toTextBlock(content)]
  const blocks: AnthropicContentBlock[] = []
  content.forEach((part, j) => {
    const block = toContentBlock(part, role, { ...ctx, param: `${ctx.param}[${j}]` })
    if (block) blocks.push(block)
  })
  return blocks
}
