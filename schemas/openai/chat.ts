// Canonical chat types. Field names follow the official OpenAI description
// (components CreateChatCompletionRequest / CreateChatCompletionResponse / CreateChatCompletionStreamResponse).
// Request objects stay open so parameters OpenAI adds later reach OpenAI-compatible upstreams unchanged.
import { type Static, Type } from '@sinclair/typebox'
import { Nullable, OpenObject, TaggedUnion } from '../typebox-helpers.js'
import { CompletionUsage } from './usage.js'

export const TextPart = OpenObject({ type: Type.Literal('text'), text: Type.String() })
export const ImagePart = OpenObject({
  type: Type.Literal('image_url'),
  image_url: OpenObject({
    url: Type.String({ description: 'An http(s) URL or a data: URL with base64 image data' }),
    detail: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('low'), Type.Literal('high')])),
  }),
})
export const AudioPart = OpenObject({
  type: Type.Literal('input_audio'),
  input_audio: OpenObject({ data: Type.String(), format: Type.String() }),
})
export const FilePart = OpenObject({
  type: Type.Literal('file'),
  file: OpenObject({
    file_data: Type.Optional(Type.String()),
    file_id: Type.Optional(Type.String()),
    filename: Type.Optional(Type.String()),
  }),
})
export const RefusalPart = OpenObject({ type: Type.Literal('refusal'), refusal: Type.String() })

export const ContentPart = TaggedUnion('type', [TextPart, ImagePart, AudioPart, FilePart, RefusalPart])
export type ContentPart = Static<typeof ContentPart>

const MessageContent = Type.Union([Type.String(), Type.Array(ContentPart, { minItems: 1 })])

export const FunctionToolCall = OpenObject({
  id: Type.String(),
  type: Type.Literal('function'),
  function: OpenObject({ name: Type.String(), arguments: Type.String() }),
})
export const CustomToolCall = OpenObject({
  id: Type.String(),
  type: Type.Literal('custom'),
  custom: OpenObject({ name: Type.String(), input: Type.String() }),
})
export const ToolCall = TaggedUnion('type', [FunctionToolCall, CustomToolCall])
export type ToolCall = Static<typeof ToolCall>

const name = Type.Optional(Type.String())
export const SystemMessage = OpenObject({ role: Type.Literal('system'), content: MessageContent, name })
export const DeveloperMessage = OpenObject({ role: Type.Literal('developer'), content: MessageContent, name })
export const UserMessage = OpenObject({ role: Type.Literal('user'), content: MessageContent, name })
export const AssistantMessage = OpenObject({
  role: Type.Literal('assistant'),
  content: Type.Optional(Nullable(MessageContent)),
  refusal: Type.Optional(Nullable(Type.String())),
  name,
  tool_calls: Type.Optional(Type.Array(ToolCall)),
  function_call: Type.Optional(Nullable(OpenObject({ name: Type.String(), arguments: Type.String() }))),
})
export const ToolMessage = OpenObject({
  role: Type.Literal('tool'),
  content: MessageContent,
  tool_call_id: Type.String(),
})
export const FunctionMessage = OpenObject({
  role: Type.Literal('function'),
  content: Nullable(Type.String()),
  name: Type.String(),
})
export const ChatMessage = TaggedUnion('role', [
  SystemMessage,
  DeveloperMessage,
  UserMessage,
  AssistantMessage,
  ToolMessage,
  FunctionMessage,
])
export type ChatMessage = Static<typeof ChatMessage>

export const FunctionDefinition = OpenObject({
  name: Type.String({ minLength: 1 }),
  description: Type.Optional(Type.String()),
  parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  strict: Type.Optional(Nullable(Type.Boolean())),
})
export const FunctionTool = OpenObject({ type: Type.Literal('function'), function: FunctionDefinition })
export const CustomTool = OpenObject({
  type: Type.Literal('custom'),
  custom: OpenObject({ name: Type.String(), description: Type.Optional(Type.String()) }),
})
export const Tool = TaggedUnion('type', [FunctionTool, CustomTool])
export type Tool = Static<typeof Tool>

export const ToolChoice = Type.Union([
  Type.Union([Type.Literal('none'), Type.Literal('auto'), Type.Literal('required')]),
  OpenObject({ type: Type.Literal('function'), function: OpenObject({ name: Type.String() }) }),
  OpenObject({ type: Type.Literal('allowed_tools'), allowed_tools: OpenObject({}) }),
  OpenObject({ type: Type.Literal('custom'), custom: OpenObject({ name: Type.String() }) }),
])
export type ToolChoice = Static<typeof ToolChoice>

export const ResponseFormat = TaggedUnion('type', [
  OpenObject({ type: Type.Literal('text') }),
  OpenObject({ type: Type.Literal('json_object') }),
  OpenObject({
    type: Type.Literal('json_schema'),
    json_schema: OpenObject({
      name: Type.String(),
      description: Type.Optional(Type.String()),
      schema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      strict: Type.Optional(Nullable(Type.Boolean())),
    }),
  }),
])
export type ResponseFormat = Static<typeof ResponseFormat>

export const StreamOptions = OpenObject({
  include_usage: Type.Optional(Type.Boolean()),
  include_obfuscation: Type.Optional(Type.Boolean()),
})

const optionalNullable = <T extends Parameters<typeof Nullable>[0]>(schema: T) =>
  Type.Optional(Nullable(schema))

export const ChatCompletionRequest = OpenObject(
  {
    model: Type.String({ minLength: 1, description: 'A public model name, or <provider>/<upstream model>' }),
    messages: Type.Array(ChatMessage, { minItems: 1 }),
    stream: optionalNullable(Type.Boolean()),
    stream_options: optionalNullable(StreamOptions),
    temperature: optionalNullable(Type.Number({ minimum: 0, maximum: 2 })),
    top_p: optionalNullable(Type.Number({ minimum: 0, maximum: 1 })),
    n: optionalNullable(Type.Integer({ minimum: 1, maximum: 128 })),
    max_tokens: optionalNullable(Type.Integer({ minimum: 1 })),
    max_completion_tokens: optionalNullable(Type.Integer({ minimum: 1 })),
    stop: optionalNullable(
      Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 4 })]),
    ),
    presence_penalty: optionalNullable(Type.Number({ minimum: -2, maximum: 2 })),
    frequency_penalty: optionalNullable(Type.Number({ minimum: -2, maximum: 2 })),
    logit_bias: optionalNullable(Type.Record(Type.String(), Type.Integer())),
    logprobs: optionalNullable(Type.Boolean()),
    top_logprobs: optionalNullable(Type.Integer({ minimum: 0, maximum: 20 })),
    seed: optionalNullable(Type.Integer()),
    tools: Type.Optional(Type.Array(Tool)),
    tool_choice: Type.Optional(ToolChoice),
    parallel_tool_calls: Type.Optional(Type.Boolean()),
    response_format: Type.Optional(ResponseFormat),
    reasoning_effort: optionalNullable(Type.String()),
    user: Type.Optional(Type.String()),
    metadata: optionalNullable(Type.Record(Type.String(), Type.String())),
  },
  {
    description: 'CreateChatCompletionRequest (unknown fields are forwarded to OpenAI-compatible upstreams)',
  },
)
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>

export const FinishReason = Type.Union([
  Type.Literal('stop'),
  Type.Literal('length'),
  Type.Literal('tool_calls'),
  Type.Literal('content_filter'),
  Type.Literal('function_call'),
])
export type FinishReason = Static<typeof FinishReason>

export const AssistantResponseMessage = OpenObject({
  role: Type.Literal('assistant'),
  content: Nullable(Type.String()),
  refusal: Nullable(Type.String()),
  tool_calls: Type.Optional(Type.Array(ToolCall)),
  function_call: Type.Optional(OpenObject({ name: Type.String(), arguments: Type.String() })),
})
export type AssistantResponseMessage = Static<typeof AssistantResponseMessage>

const Logprobs = Nullable(OpenObject({ content: Nullable(Type.Array(OpenObject({}))) }))

export const ChatCompletionChoice = OpenObject({
  index: Type.Integer(),
  message: AssistantResponseMessage,
  finish_reason: FinishReason,
  logprobs: Logprobs,
})

export const ChatCompletion = OpenObject(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(ChatCompletionChoice),
    usage: Type.Optional(CompletionUsage),
    system_fingerprint: Type.Optional(Nullable(Type.String())),
    service_tier: Type.Optional(Nullable(Type.String())),
  },
  { description: 'CreateChatCompletionResponse' },
)
export type ChatCompletion = Static<typeof ChatCompletion>

export const ToolCallDelta = OpenObject({
  index: Type.Integer(),
  id: Type.Optional(Type.String()),
  type: Type.Optional(Type.Literal('function')),
  function: Type.Optional(
    OpenObject({ name: Type.Optional(Type.String()), arguments: Type.Optional(Type.String()) }),
  ),
})
export type ToolCallDelta = Static<typeof ToolCallDelta>

export const ChunkDelta = OpenObject({
  role: Type.Optional(Type.String()),
  content: Type.Optional(Nullable(Type.String())),
  refusal: Type.Optional(Nullable(Type.String())),
  tool_calls: Type.Optional(Type.Array(ToolCallDelta)),
})

export const ChatCompletionChunkChoice = OpenObject({
  index: Type.Integer(),
  delta: ChunkDelta,
  finish_reason: Nullable(FinishReason),
  logprobs: Type.Optional(Logprobs),
})

export const ChatCompletionChunk = OpenObject(
  {
    id: Type.String(),
    object: Type.Literal('chat.completion.chunk'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(ChatCompletionChunkChoice),
    usage: Type.Optional(Nullable(CompletionUsage)),
    system_fingerprint: Type.Optional(Nullable(Type.String())),
    service_tier: Type.Optional(Nullable(Type.String())),
  },
  { description: 'CreateChatCompletionStreamResponse: one SSE `data:` event of a streamed answer' },
)
export type ChatCompletionChunk = Static<typeof ChatCompletionChunk>
