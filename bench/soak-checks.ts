// Whether one soak response is what its plan allows. Pure: the client hands over what it received.
// A success is a complete, well-formed answer; a clean error is the route's error shape as JSON,
// or, once a stream started, one final error event and no end-of-stream marker. Anything else
// (a dropped connection, an HTML page, a stream that just stops) is a problem.
import { type Expectation, isStreamKind, type RequestKind } from './soak-plan.js'

export interface Received {
  status: number
  contentType: string
  text: string
}

export type Judgement =
  | { verdict: 'ok' }
  | { verdict: 'clean-error'; code: string }
  | { verdict: 'problem'; problem: string }

export type Outcome = 'ok' | 'expected-error' | 'aborted' | 'unexpected'

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const excerpt = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}...` : text)

/** `{"error":{"message","type","param","code"}}`: the code, or undefined when the shape is off. */
function openAIErrorCode(value: unknown): string | undefined {
  if (!isObject(value) || !isObject(value.error)) return undefined
  const { message, type, param, code } = value.error
  if (typeof message !== 'string' || typeof type !== 'string') return undefined
  if (!('param' in value.error) || !('code' in value.error)) return undefined
  if (param !== null && typeof param !== 'string') return undefined
  if (code !== null && typeof code !== 'string') return undefined
  return code ?? type
}

/** `{"type":"error","error":{"type","message"}}`, as /v1/messages answers. */
function anthropicErrorType(value: unknown): string | undefined {
  if (!isObject(value) || value.type !== 'error' || !isObject(value.error)) return undefined
  const { type, message } = value.error
  return typeof type === 'string' && typeof message === 'string' ? type : undefined
}

const isMessagesKind = (kind: RequestKind) => kind === 'messages' || kind === 'messages-stream'

function judgeHttpError(kind: RequestKind, received: Received): Judgement {
  const body = parse(received.text)
  const code = isMessagesKind(kind) ? anthropicErrorType(body) : openAIErrorCode(body)
  if (!received.contentType.includes('application/json') || code === undefined) {
    return {
      verdict: 'problem',
      problem: `status ${received.status} without a clean error body: ${excerpt(received.text)}`,
    }
  }
  return { verdict: 'clean-error', code: `${received.status} ${code}` }
}

interface SseEvent {
  event: string
  data: string
}

function sseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = ''
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice('event: '.length)
        else if (line.startsWith('data: ')) data.push(line.slice('data: '.length))
      }
      return { event, data: data.join('\n') }
    })
}

function judgeChatStream(text: string, expectedChunks: number): Judgement {
  const events = sseEvents(text)
  const last = events.at(-1)
  if (!last) return { verdict: 'problem', problem: 'an empty stream' }
  const payloads = events.slice(0, -1).map((event) => parse(event.data))
  if (last.data === '[DONE]') {
    if (payloads.some((payload) => !isObject(payload) || 'error' in payload)) {
      return {
        verdict: 'problem',
        problem: `a stream with a bad or error event before [DONE]: ${excerpt(text)}`,
      }
    }
    const content = payloads.filter((payload) => {
      const choice = (payload as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]
      return typeof choice?.delta?.content === 'string'
    }).length
    if (content !== expectedChunks) {
      return { verdict: 'problem', problem: `${content} content chunks instead of ${expectedChunks}` }
    }
    return { verdict: 'ok' }
  }
  const code = openAIErrorCode(parse(last.data))
  if (code === undefined || events.some((event) => event.data === '[DONE]')) {
    return {
      verdict: 'problem',
      problem: `a stream that ended without [DONE] or an error event: ...${text.slice(-160)}`,
    }
  }
  return { verdict: 'clean-error', code: `stream ${code}` }
}

function judgeMessagesStream(text: string): Judgement {
  const events = sseEvents(text)
  const last = events.at(-1)
  if (!last) return { verdict: 'problem', problem: 'an empty stream' }
  if (last.event === 'message_stop') {
    if (events.some((event) => event.event === 'error')) {
      return { verdict: 'problem', problem: `an error event before message_stop: ${excerpt(text)}` }
    }
    const deltas = events.filter((event) => event.event === 'content_block_delta').length
    return deltas > 0 ? { verdict: 'ok' } : { verdict: 'problem', problem: 'a stream without any text' }
  }
  const type = last.event === 'error' ? anthropicErrorType(parse(last.data)) : undefined
  if (type === undefined || events.some((event) => event.event === 'message_stop')) {
    return {
      verdict: 'problem',
      problem: `a stream that ended without message_stop or an error event: ...${text.slice(-160)}`,
    }
  }
  return { verdict: 'clean-error', code: `stream ${type}` }
}

function judgeJson(kind: RequestKind, text: string): Judgement {
  const body = parse(text)
  const fine =
    kind === 'chat'
      ? typeof (body as { choices?: { message?: { content?: unknown } }[] })?.choices?.[0]?.message
          ?.content === 'string'
      : kind === 'embeddings'
        ? Array.isArray((body as { data?: { embedding?: unknown }[] })?.data?.[0]?.embedding)
        : (body as { type?: unknown })?.type === 'message' &&
          Array.isArray((body as { content?: unknown }).content)
  return fine
    ? { verdict: 'ok' }
    : { verdict: 'problem', problem: `a malformed ${kind} answer: ${excerpt(text)}` }
}

/** What a response is, whatever the plan expected; `secrets` must appear in no response at all. */
export function judgeResponse(
  kind: RequestKind,
  received: Received,
  secrets: readonly string[],
  streamChunks: number,
): Judgement {
  const leaked = secrets.find((secret) => received.text.includes(secret))
  if (leaked !== undefined) return { verdict: 'problem', problem: 'a secret key appeared in the response' }
  if (received.status !== 200) return judgeHttpError(kind, received)
  if (!isStreamKind(kind)) return judgeJson(kind, received.text)
  if (!received.contentType.includes('text/event-stream')) {
    return {
      verdict: 'problem',
      problem: `a stream answered as ${received.contentType}: ${excerpt(received.text)}`,
    }
  }
  return kind === 'chat-stream'
    ? judgeChatStream(received.text, streamChunks)
    : judgeMessagesStream(received.text)
}

/** The outcome of a response under its plan: anything the plan did not allow is `unexpected`. */
export function outcomeOf(
  expectation: Exclude<Expectation, 'client-abort'>,
  judgement: Judgement,
): { outcome: Outcome; problem?: string } {
  if (judgement.verdict === 'problem') return { outcome: 'unexpected', problem: judgement.problem }
  if (expectation === 'success') {
    return judgement.verdict === 'ok'
      ? { outcome: 'ok' }
      : { outcome: 'unexpected', problem: `a clean error (${judgement.code}) where success was expected` }
  }
  return judgement.verdict === 'clean-error'
    ? { outcome: 'expected-error' }
    : { outcome: 'unexpected', problem: 'a success where the injected fault should have failed the call' }
}
