// The Anthropic Messages API (https://docs.anthropic.com/en/api/messages): the inbound /v1/messages
// route validates with these, and the anthropic provider speaks them on the wire. Objects stay
// open so fields Anthropic adds later pass through.
import { type Static, Type } from '@sinclair/typebox'
import { Nullable, OpenObject, TaggedUnion } from '../typebox-helpers.js'

const CacheControl = Type.Optional(OpenObject({ type: Type.String() }))

export const AnthropicTextBlock = OpenObject({
  type: Type.Literal('text'),
  text: Type.String(),
  cache_control: CacheControl,
})
export const AnthropicImageSource = TaggedUnion('type', [
  OpenObject({ type: Type.Literal('base64'), media_type: Type.String(), data: Type.String() }),
  OpenObject({ type: Type.Literal('url'), url: Type.String() }),
  OpenObject({ type: Type.Literal('file'), file_id: Type.String() }),
])
export const AnthropicImageBlock = OpenObject({
  type: Type.Literal('image'),
  source: AnthropicImageSource,
  cache_control: CacheControl,
})
export const AnthropicDocumentBlock = OpenObject({
  type: Type.Literal('document'),
  source: OpenObject({ type: Type.String() }),
  cache_control: CacheControl,
})
export const AnthropicToolUseBlock = OpenObject({
  type: Type.Literal('tool_use'),
  id: Type.String(),
  name: Type.String(),
  input: Type.Unknown(),
  cache_control: CacheControl,
})
export const AnthropicToolResultBlock = OpenObject({
  type: Type.Literal('tool_result'),
  tool_use_id: Type.String(),
  content: Type.Optional(
    Type.Union([Type.String(), Type.Array(Type.Union([AnthropicTextBlock, AnthropicImageBlock]))]),
  ),
  is_error: Type.Optional(Type.Boolean()),
  cache_control: CacheControl,
})
export const AnthropicThinkingBlock = OpenObject({
  type: Type.Literal('thinking'),
  thinking: Type.String(),
  signature: Type.Optional(Type.String()),
})
export const AnthropicRedactedThinkingBlock = OpenObject({
  type: Type.Literal('redacted_thinking'),
  data: Type.String(),
})

export const AnthropicContentBlock = TaggedUnion('type', [
  AnthropicTextBlock,
  AnthropicImageBlock,
  AnthropicDocumentBlock,
  AnthropicToolUseBlock,
  AnthropicToolResultBlock,
  AnthropicThinkingBlock,
  AnthropicRedactedThinkingBlock,
])
export type AnthropicContentBlock = Static<typeof AnthropicContentBlock>

export const AnthropicMessageParam = OpenObject({
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
  content: Type.Union([Type.String(), Type.Array(AnthropicContentBlock)]),
})
export type AnthropicMessageParam = Static<typeof AnthropicMessageParam>

export const AnthropicTool = OpenObject({
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
  input_schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  type: Type.Optional(Type.String()),
  cache_control: CacheControl,
})
export type AnthropicTool = Static<typeof AnthropicTool>

export const AnthropicToolChoice = TaggedUnion('type', [
  OpenObject({ type: Type.Literal('auto'), disable_parallel_tool_use: Type.Optional(Type.Boolean()) }),
  OpenObject({ type: Type.Literal('any'), disable_parallel_tool_use: Type.Optional(Type.Boolean()) }),
  OpenObject({
    type: Type.Literal('tool'),
    name: Type.String(),
    disable_parallel_tool_use: Type.Optional(Type.Boolean()),
  }),
  OpenObject({ type: Type.Literal('none') }),
])
export type AnthropicToolChoice = Static<typeof AnthropicToolChoice>

export const AnthropicMessagesRequest = OpenObject(
  {
    model: Type.String({ minLength: 1 }),
    messages: Type.Array(AnthropicMessageParam),
    max_tokens: Type.Integer({ minimum: 1 }),
    system: Type.Optional(Type.Union([Type.String(), Type.Array(AnthropicTextBlock)])),
    stop_sequences: Type.Optional(Type.Array(Type.String())),
    stream: Type.Optional(Type.Boolean()),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0 })),
    tools: Type.Optional(Type.Array(AnthropicTool)),
    tool_choice: Type.Optional(AnthropicToolChoice),
    // type stays an open string: Anthropic adds modes (adaptive...) that native upstreams take as is.
    thinking: Type.Optional(
      OpenObject({
        type: Type.String(),
        budget_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
      }),
    ),
    output_config: Type.Optional(OpenObject({})),
    metadata: Type.Optional(OpenObject({ user_id: Type.Optional(Nullable(Type.String())) })),
  },
  { description: 'Anthropic Messages request (served by any configured model)' },
)
export type AnthropicMessagesRequest = Static<typeof AnthropicMessagesRequest>

export const AnthropicStopReason = Type.Union([
  Type.Literal('end_turn'),
  Type.Literal('max_tokens'),
  Type.Literal('stop_sequence'),
  Type.Literal('tool_use'),
  Type.Literal('pause_turn'),
  Type.Literal('refusal'),
  Type.Literal('model_context_window_exceeded'),
])
export type AnthropicStopReason = Static<typeof AnthropicStopReason>

export const AnthropicUsage = OpenObject({
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cache_creation_input_tokens: Type.Optional(Nullable(Type.Integer())),
  cache_read_input_tokens: Type.Optional(Nullable(Type.Integer())),
})
export type AnthropicUsage = Static<typeof AnthropicUsage>

export const AnthropicMessage = OpenObject(
  {
    id: Type.String(),
    type: Type.Literal('message'),
    role: Type.Literal('assistant'),
    model: Type.String(),
    content: Type.Array(AnthropicContentBlock),
    stop_reason: Nullable(AnthropicStopReason),
    stop_sequence: Nullable(Type.String()),
    usage: AnthropicUsage,
  },
  { description: 'Anthropic Messages response' },
)
export type AnthropicMessage = Static<typeof AnthropicMessage>

/** The streamed events, in the order Anthropic sends them. */
export type AnthropicStreamEvent =
  | { type: 'message_start'; message: AnthropicMessage }
  | { type: 'content_block_start'; index: number; content_block: AnthropicContentBlock }
  | {
      type: 'content_block_delta'
      index: number
      delta:
        | { type: 'text_delta'; text: string }
        | { type: 'input_json_delta'; partial_json: string }
        | { type: 'thinking_delta'; thinking: string }
        | { type: 'signature_delta'; signature: string }
        | { type: 'citations_delta'; citation: unknown }
    }
  | { type: 'content_block_stop'; index: number }
  | {
      type: 'message_delta'
      delta: { stop_reason: AnthropicStopReason | null; stop_sequence: string | null }
      usage: Partial<AnthropicUsage> & { output_tokens: number }
    }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } }

export const AnthropicErrorResponse = Type.Object({
  type: Type.Literal('error'),
  error: Type.Object({
    type: Type.String(),
    message: Type.String(),
    param: Type.Optional(Nullable(Type.String())),
    code: Type.Optional(Nullable(Type.String())),
  }),
})
