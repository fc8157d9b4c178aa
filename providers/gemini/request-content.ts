// OpenAI content parts -> Gemini parts. Pure.
// Part: https://ai.google.dev/api/caching#Part; Blob (inlineData): https://ai.google.dev/api/caching#Blob;
// FileData: https://ai.google.dev/api/caching#FileData
import type { ContentPart } from '../../schemas/openai/chat.js'
import { invalidInput, unsupportedInput } from './input-errors.js'
import type { GeminiPart } from './wire.js'

/**
 * Image types Gemini reads (https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats),
 * by URL extension: an http(s) image goes up as fileData, which needs its MIME type.
 */
const imageTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
}

/** input_audio.format -> MIME (https://ai.google.dev/gemini-api/docs/audio#supported-formats). */
const audioTypes: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mp3',
  aiff: 'audio/aiff',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
}

/** Files uploaded with Gemini's Files API: their URI needs no MIME type (Gemini knows it). */
const filesApiUri = /^https:\/\/generativelanguage\.googleapis\.com\/v1(?:beta)?\/files\/[^/?#]+$/

interface DataUrl {
  mimeType: string
  data: string
}

/** `data:<mime>[;param]*;base64,<data>`; Gemini's inlineData takes base64 only. */
export function parseDataUrl(url: string): DataUrl | null {
  const match = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s.exec(url)
  if (!match || !match[2]!.split(';').includes('base64')) return null
  return { mimeType: match[1]!.toLowerCase(), data: match[3]! }
}

function imagePart(url: string, param: string, provider: string): GeminiPart {
  if (url.startsWith('data:')) {
    const parsed = parseDataUrl(url)
    if (!parsed) throw invalidInput(provider, param, 'must be a base64 data: URL (data:<mime>;base64,...)')
    return { inlineData: parsed }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalidInput(provider, param, 'must be an http(s) URL or a data: URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw invalidInput(provider, param, 'must be an http(s) URL or a data: URL')
  }
  if (filesApiUri.test(url)) return { fileData: { fileUri: url } }
  // Gemini fetches the URL itself and needs its type up front; the path's extension is all we know
  // without fetching it, so an unknown one is refused rather than guessed.
  const extension = /\.([a-z0-9]+)$/i.exec(parsed.pathname)?.[1]?.toLowerCase()
  const mimeType = extension ? imageTypes[extension] : undefined
  if (!mimeType) {
    throw unsupportedInput(
      provider,
      param,
      `image URLs whose type is not known from the extension (${Object.keys(imageTypes).join(', ')}); send it as a data: URL`,
    )
  }
  return { fileData: { fileUri: url, mimeType } }
}

function partFor(part: ContentPart, param: string, provider: string): GeminiPart {
  switch (part.type) {
    case 'text':
      return { text: part.text }
    case 'refusal':
      // An assistant refusal is what the model said on that turn.
      return { text: part.refusal }
    case 'image_url':
      // `detail` has no per-part equivalent in the Gemini API: the model picks the resolution.
      return imagePart(part.image_url.url, `${param}.image_url.url`, provider)
    case 'input_audio': {
      const mimeType = audioTypes[part.input_audio.format.toLowerCase()]
      if (!mimeType) {
        throw unsupportedInput(
          provider,
          `${param}.input_audio.format`,
          `audio format "${part.input_audio.format}" (Gemini reads ${Object.keys(audioTypes).join(', ')})`,
        )
      }
      return { inlineData: { mimeType, data: part.input_audio.data } }
    }
    case 'file': {
      const data = part.file.file_data
      if (data === undefined) {
        throw unsupportedInput(provider, `${param}.file.file_id`, 'OpenAI file ids (send file.file_data)')
      }
      const parsed = parseDataUrl(data)
      if (!parsed) throw invalidInput(provider, `${param}.file.file_data`, 'must be a base64 data: URL')
      return { inlineData: parsed }
    }
    default:
      throw unsupportedInput(
        provider,
        `${param}.type`,
        `content parts of type "${(part as { type: string }).type}"`,
      )
  }
}

/** Parts for a message's content; an empty string gives no part (Gemini refuses empty text). */
export function toGeminiParts(
  content: string | ContentPart[],
  param: string,
  provider: string,
): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }]
  return content.map((part, i) => partFor(part, `${param}[${i}]`, provider))
}

/** The text of a system or tool message: Gemini takes only text there. */
export function textOf(
  content: string | ContentPart[] | null | undefined,
  param: string,
  provider: string,
): string {
  if (content === null || content === undefined) return ''
  if (typeof content === 'string') return content
  return content
    .map((part, i) => {
      if (part.type === 'text') return part.text
      throw unsupportedInput(
        provider,
        `${param}[${i}].type`,
        `"${part.type}" parts in this message (text only)`,
      )
    })
    .join('')
}
