// OpenAI messages -> Gemini contents and systemInstruction. Pure.
// Roles, turns and function responses: https://ai.google.dev/gemini-api/docs/function-calling
// Content: https://ai.google.dev/api/caching#Content
import type { ChatMessage, ToolCall } from '../../schemas/openai/chat.js'
import { invalidInput, unsupportedInput } from './input-errors.js'
import { textOf, toGeminiParts } from './request-content.js'
import { thoughtSignatureOf } from './tool-call-id.js'
import type { GeminiContent, GeminiPart, GeminiRole } from './wire.js'

export interface GeminiConversation {
  contents: GeminiContent[]
  systemInstruction?: GeminiContent
}

/**
 * A functionResponse must be a JSON object (https://ai.google.dev/api/caching#FunctionResponse).
 * A tool result that is a JSON object goes as is; any other JSON value, or plain text, is wrapped as
 * `{"result": <value>}`, the key Google's own SDK samples use.
 */
export function toFunctionResponse(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return parsed as Record<string, unknown>
    }
    return { result: parsed }
  } catch {
    return { result: text }
  }
}

function parseArguments(text: string, param: string, provider: string): Record<string, unknown> {
  if (text.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw invalidInput(
      provider,
      param,
      'must be valid JSON (Gemini takes function call arguments as an object)',
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidInput(provider, param, 'must be a JSON object')
  }
  return parsed as Record<string, unknown>
}

function functionCallPart(call: ToolCall, param: string, provider: string): GeminiPart {
  if (call.type !== 'function') {
    throw unsupportedInput(provider, `${param}.type`, 'custom tool calls (function tools only)')
  }
  const part: GeminiPart = {
    functionCall: {
      name: call.function.name,
      args: parseArguments(call.function.arguments, `${param}.function.arguments`, provider),
    },
  }
  // The signature Gemini attached to this call must go back with it, or thinking models refuse the turn.
  const signature = thoughtSignatureOf(call)
  if (signature) part.thoughtSignature = signature
  return part
}

/** Translates the conversation; `tool` results get the name of the call they answer. */
export function toGeminiConversation(messages: ChatMessage[], provider: string): GeminiConversation {
  const contents: GeminiContent[] = []
  const systemParts: GeminiPart[] = []
  /** tool_call id -> function name, from the assistant messages seen so far. */
  const callNames = new Map<string, string>()

  // Gemini wants user and model turns to alternate: a turn continuing the same role is merged.
  const push = (role: GeminiRole, parts: GeminiPart[]) => {
    if (parts.length === 0) return
    const last = contents.at(-1)
    if (last?.role === role) last.parts = [...(last.parts ?? []), ...parts]
    else contents.push({ role, parts })
  }

  messages.forEach((message, i) => {
    const param = `messages[${i}]`
    switch (message.role) {
      case 'system':
      case 'developer': {
        // Gemini has one system instruction; every system/developer message joins it, in order.
        const text = textOf(message.content, `${param}.content`, provider)
        if (text !== '') systemParts.push({ text })
        return
      }
      case 'user': {
        const parts = toGeminiParts(message.content, `${param}.content`, provider)
        if (parts.length === 0)
          throw invalidInput(provider, `${param}.content`, 'is empty (Gemini refuses empty turns)')
        push('user', parts)
        return
      }
      case 'assistant': {
        const parts = message.content ? toGeminiParts(message.content, `${param}.content`, provider) : []
        if (message.refusal) parts.push({ text: message.refusal })
        message.tool_calls?.forEach((call, j) => {
          parts.push(functionCallPart(call, `${param}.tool_calls[${j}]`, provider))
          if (call.type === 'function') callNames.set(call.id, call.function.name)
        })
        if (message.function_call) {
          const args = parseArguments(
            message.function_call.arguments,
            `${param}.function_call.arguments`,
            provider,
          )
          parts.push({ functionCall: { name: message.function_call.name, args } })
        }
        // An assistant turn with nothing in it carries nothing to send.
        push('model', parts)
        return
      }
      case 'tool': {
        const name = callNames.get(message.tool_call_id)
        if (name === undefined) {
          throw invalidInput(
            provider,
            `${param}.tool_call_id`,
            `must be the id of a tool call in an earlier assistant message ("${message.tool_call_id}" is not); ` +
              'Gemini matches function responses by function name',
          )
        }
        const text = textOf(message.content, `${param}.content`, provider)
        push('user', [{ functionResponse: { name, response: toFunctionResponse(text) } }])
        return
      }
      case 'function': {
        const text = message.content ?? ''
        push('user', [{ functionResponse: { name: message.name, response: toFunctionResponse(text) } }])
        return
      }
    }
  })

  if (contents.length === 0) {
    throw invalidInput(
      provider,
      'messages',
      'needs at least one user or assistant message besides system ones',
    )
  }
  const conversation: GeminiConversation = { contents }
  if (systemParts.length > 0) conversation.systemInstruction = { parts: systemParts }
  return conversation
}
