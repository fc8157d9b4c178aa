// Scripted upstreams for the conformance matrix: one decision (what a model would answer to this
// conversation) rendered in each provider's wire format, so every cell of the matrix checks the
// same behaviour through a different translation. The wire shapes follow each provider's API
// reference; the per-provider tests prove their own fakes against the official SDKs.
import type { ServerResponse } from 'node:http'
import {
  type FakeUpstream,
  type RecordedRequest,
  sendJson,
  sseData,
  startFakeUpstream,
} from './fake-upstream.js'

export type WireFormat = 'openai' | 'anthropic' | 'gemini'

/** What the scripted model answers. */
export type Decision =
  | { kind: 'text'; text: string }
  | { kind: 'tool'; name: string; args: Record<string, unknown> }

export interface ConversationView {
  system: string
  lastUserText: string
  toolResult: string | null
  toolNames: string[]
  forcedTool: string | null
  hasImage: boolean
  wantsJson: boolean
}

export const answers = {
  echo: (text: string, system: string) => `echo: ${text}${system ? ` [system: ${system}]` : ''}`,
  toolResult: (result: string) => `The tool said: ${result}`,
  image: 'I see an image',
  json: '{"answer":42}',
  toolArgs: { city: 'Paris' },
}

export function decide(view: ConversationView): Decision {
  if (view.forcedTool) return { kind: 'tool', name: view.forcedTool, args: { answer: 42 } }
  if (view.toolResult !== null) return { kind: 'text', text: answers.toolResult(view.toolResult) }
  if (view.toolNames.length > 0) return { kind: 'tool', name: view.toolNames[0]!, args: answers.toolArgs }
  if (view.wantsJson) return { kind: 'text', text: answers.json }
  if (view.hasImage) return { kind: 'text', text: answers.image }
  return { kind: 'text', text: answers.echo(view.lastUserText, view.system) }
}

// biome-ignore lint/suspicious/noExplicitAny: the fakes read three wire formats loosely, by design
type Json = Record<string, any>

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((part: Json) => (typeof part.text === 'string' ? part.text : '')).join('')
      : ''

function viewOpenAI(body: Json): ConversationView {
  const messages: Json[] = body.messages ?? []
  const last = messages.at(-1)
  const users = messages.filter((m) => m.role === 'user')
  return {
    system: messages
      .filter((m) => m.role === 'system' || m.role === 'developer')
      .map((m) => textOf(m.content))
      .join(' '),
    lastUserText: textOf(users.at(-1)?.content),
    toolResult: last?.role === 'tool' ? textOf(last.content) : null,
    toolNames: (body.tools ?? []).map((t: Json) => t.function?.name),
    forcedTool: null,
    hasImage: users.some(
      (m) => Array.isArray(m.content) && m.content.some((p: Json) => p.type === 'image_url'),
    ),
    wantsJson: body.response_format?.type === 'json_schema' || body.response_format?.type === 'json_object',
  }
}

function viewAnthropic(body: Json): ConversationView {
  const messages: Json[] = body.messages ?? []
  const blocks = (m: Json | undefined): Json[] =>
    typeof m?.content === 'string' ? [{ type: 'text', text: m.content }] : (m?.content ?? [])
  const last = messages.at(-1)
  const result = blocks(last).find((b) => b.type === 'tool_result')
  const userMessages = messages.filter((m) => m.role === 'user' && blocks(m).some((b) => b.type === 'text'))
  return {
    system: typeof body.system === 'string' ? body.system : textOf(body.system),
    lastUserText: textOf(blocks(userMessages.at(-1))),
    toolResult: result
      ? typeof result.content === 'string'
        ? result.content
        : textOf(result.content)
      : null,
    toolNames: (body.tools ?? []).map((t: Json) => t.name),
    forcedTool: body.tool_choice?.type === 'tool' && !result ? body.tool_choice.name : null,
    hasImage: messages.some((m) => blocks(m).some((b) => b.type === 'image')),
    wantsJson: false,
  }
}

function viewGemini(body: Json): ConversationView {
  const contents: Json[] = body.contents ?? []
  const parts = (c: Json | undefined): Json[] => c?.parts ?? []
  const last = contents.at(-1)
  const response = parts(last).find((p) => p.functionResponse)
  const userTexts = contents.filter(
    (c) => c.role === 'user' && parts(c).some((p) => typeof p.text === 'string'),
  )
  return {
    system: textOf(body.systemInstruction?.parts),
    lastUserText: textOf(parts(userTexts.at(-1))),
    toolResult: response ? JSON.stringify(response.functionResponse.response) : null,
    toolNames: (body.tools ?? []).flatMap((t: Json) =>
      (t.functionDeclarations ?? []).map((f: Json) => f.name),
    ),
    forcedTool: null,
    hasImage: contents.some((c) => parts(c).some((p) => p.inlineData || p.fileData)),
    wantsJson: body.generationConfig?.responseMimeType === 'application/json',
  }
}

const usage = { prompt: 11, completion: 5 }

function renderOpenAI(res: ServerResponse, body: Json, decision: Decision) {
  const message =
    decision.kind === 'text'
      ? { role: 'assistant', content: decision.text, refusal: null }
      : {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: 'call_smart_1',
              type: 'function',
              function: { name: decision.name, arguments: JSON.stringify(decision.args) },
            },
          ],
        }
  const finish = decision.kind === 'text' ? 'stop' : 'tool_calls'
  const base = { id: 'chatcmpl-smart', created: 1_700_000_000, model: body.model ?? 'deployment' }
  const usageBody = {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
  }
  if (!body.stream) {
    return sendJson(res, 200, {
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
      usage: usageBody,
    })
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  const chunk = (delta: Json, finishReason: string | null = null) =>
    sseData({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    })
  res.write(chunk({ role: 'assistant', content: '' }))
  if (decision.kind === 'text') {
    for (const piece of decision.text.match(/.{1,5}/gs) ?? []) res.write(chunk({ content: piece }))
  } else {
    const args = JSON.stringify(decision.args)
    res.write(
      chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_smart_1',
            type: 'function',
            function: { name: decision.name, arguments: '' },
          },
        ],
      }),
    )
    res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 6) } }] }))
    res.write(chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(6) } }] }))
  }
  res.write(chunk({}, finish))
  if (body.stream_options?.include_usage)
    res.write(sseData({ ...base, object: 'chat.completion.chunk', choices: [], usage: usageBody }))
  res.end(sseData('[DONE]'))
}

function renderAnthropic(res: ServerResponse, body: Json, decision: Decision) {
  const block =
    decision.kind === 'text'
      ? { type: 'text', text: decision.text }
      : { type: 'tool_use', id: 'toolu_smart_1', name: decision.name, input: decision.args }
  const stop = decision.kind === 'text' ? 'end_turn' : 'tool_use'
  const message = {
    id: 'msg_smart',
    type: 'message',
    role: 'assistant',
    model: body.model,
    content: [block],
    stop_reason: stop,
    stop_sequence: null,
    usage: { input_tokens: usage.prompt, output_tokens: usage.completion },
  }
  if (!body.stream) return sendJson(res, 200, message)
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  const event = (type: string, data: Json) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
  event('message_start', {
    message: {
      ...message,
      content: [],
      stop_reason: null,
      usage: { input_tokens: usage.prompt, output_tokens: 1 },
    },
  })
  event('ping', {})
  if (decision.kind === 'text') {
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } })
    for (const piece of decision.text.match(/.{1,5}/gs) ?? []) {
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } })
    }
  } else {
    event('content_block_start', {
      index: 0,
      content_block: { type: 'tool_use', id: 'toolu_smart_1', name: decision.name, input: {} },
    })
    const args = JSON.stringify(decision.args)
    event('content_block_delta', {
      index: 0,
      delta: { type: 'input_json_delta', partial_json: args.slice(0, 6) },
    })
    event('content_block_delta', {
      index: 0,
      delta: { type: 'input_json_delta', partial_json: args.slice(6) },
    })
  }
  event('content_block_stop', { index: 0 })
  event('message_delta', {
    delta: { stop_reason: stop, stop_sequence: null },
    usage: { output_tokens: usage.completion },
  })
  event('message_stop', {})
  res.end()
}

function renderGemini(res: ServerResponse, streaming: boolean, decision: Decision) {
  const part =
    decision.kind === 'text'
      ? { text: decision.text }
      : { functionCall: { name: decision.name, args: decision.args } }
  const usageMetadata = {
    promptTokenCount: usage.prompt,
    candidatesTokenCount: usage.completion,
    totalTokenCount: usage.prompt + usage.completion,
  }
  const response = (parts: Json[], finishReason?: string) => ({
    candidates: [{ content: { role: 'model', parts }, index: 0, ...(finishReason ? { finishReason } : {}) }],
    ...(finishReason ? { usageMetadata } : {}),
    modelVersion: 'gemini-smart',
  })
  if (!streaming) return sendJson(res, 200, response([part], 'STOP'))
  res.writeHead(200, { 'content-type': 'text/event-stream' })
  if (decision.kind === 'text') {
    const pieces = decision.text.match(/.{1,5}/gs) ?? ['']
    for (const [i, piece] of pieces.entries()) {
      res.write(sseData(response([{ text: piece }], i === pieces.length - 1 ? 'STOP' : undefined)))
    }
  } else {
    res.write(sseData(response([part], 'STOP')))
  }
  res.end()
}

function embeddingsFor(format: WireFormat, req: RecordedRequest, res: ServerResponse): boolean {
  const body = req.body as Json
  if (format === 'openai' && req.url.includes('/embeddings')) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input]
    sendJson(res, 200, {
      object: 'list',
      model: body.model ?? 'deployment',
      data: inputs.map((_: unknown, index: number) => ({
        object: 'embedding',
        index,
        embedding: [index, 0.5],
      })),
      usage: { prompt_tokens: 2, total_tokens: 2 },
    })
    return true
  }
  if (format === 'gemini' && req.url.includes(':embedContent')) {
    sendJson(res, 200, { embedding: { values: [0, 0.5] } })
    return true
  }
  if (format === 'gemini' && req.url.includes(':batchEmbedContents')) {
    sendJson(res, 200, {
      embeddings: (body.requests ?? []).map((_: unknown, i: number) => ({ values: [i, 0.5] })),
    })
    return true
  }
  return false
}

/** The user text that makes every scripted upstream refuse with its own 429. */
export const rateLimitTrigger = 'please answer 429'

// Each provider's documented rate-limit body.
const rateLimitBodies: Record<WireFormat, Json> = {
  openai: {
    error: {
      message: 'Rate limit reached for requests',
      type: 'requests',
      param: null,
      code: 'rate_limit_exceeded',
    },
  },
  anthropic: {
    type: 'error',
    error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your rate limit' },
  },
  gemini: {
    error: {
      code: 429,
      message: 'Resource has been exhausted (e.g. check quota).',
      status: 'RESOURCE_EXHAUSTED',
    },
  },
}

/** A loopback upstream speaking `format`, answering by `decide`; the test picks the failures. */
export async function startSmartUpstream(format: WireFormat): Promise<FakeUpstream> {
  return startFakeUpstream((req, res) => {
    if (embeddingsFor(format, req, res)) return
    const body = req.body as Json
    const view =
      format === 'openai' ? viewOpenAI(body) : format === 'anthropic' ? viewAnthropic(body) : viewGemini(body)
    if (view.lastUserText === rateLimitTrigger)
      return sendJson(res, 429, rateLimitBodies[format], { 'retry-after': '3' })
    if (format === 'openai') return renderOpenAI(res, body, decide(view))
    if (format === 'anthropic') return renderAnthropic(res, body, decide(view))
    return renderGemini(res, req.url.includes(':streamGenerateContent'), decide(view))
  })
}
