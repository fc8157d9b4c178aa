// The requests the load generators send and the answers the fake upstream returns. Every target
// gets byte-identical requests, so differences in the results come from the target alone.

export const chatPath = '/v1/chat/completions'
/** The public model AnyGate maps to the fake upstream; direct and floor ignore it. */
export const benchModel = 'bench-model'
/** What AnyGate sends upstream as `model`, and what the fake answers with. */
export const upstreamModel = 'fake-model'
export const jsonHeaders = { 'content-type': 'application/json' }

const messages = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Say hello in a few words.' },
]

export const chatRequestBody = JSON.stringify({ model: benchModel, messages, max_tokens: 64 })

/** The cache stores chat answers at temperature 0 only (an unset temperature is 1, sampled). */
export const cacheableRequestBody = JSON.stringify({
  model: benchModel,
  messages,
  max_tokens: 64,
  temperature: 0,
})

// include_usage makes all three targets return the same events: AnyGate always asks upstream for
// usage and drops it when the client did not ask, which the other two would not do.
export const streamRequestBody = JSON.stringify({
  model: benchModel,
  messages,
  max_tokens: 64,
  stream: true,
  stream_options: { include_usage: true },
})

/**
 * Sent in `user` (which every gateway forwards untouched): the fake upstream answers such a stream
 * with its first chunk, then holds it open without a byte more until the client goes away.
 */
export const idleStreamMarker = 'bench-idle-stream'

export const idleStreamRequestBody = JSON.stringify({
  model: benchModel,
  messages,
  max_tokens: 64,
  stream: true,
  user: idleStreamMarker,
})

const id = 'chatcmpl-bench0000000000000000000000'
const created = 1_700_000_000
const usage = { prompt_tokens: 18, completion_tokens: 7, total_tokens: 25 }

export const chatCompletion = {
  id,
  object: 'chat.completion',
  created,
  model: upstreamModel,
  system_fingerprint: 'fp_bench',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello there, nice to meet you.', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage,
}

/** `count` content chunks: the first carries the role, the last the finish_reason. */
export function chatChunks(count: number): object[] {
  return Array.from({ length: count }, (_, i) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: upstreamModel,
    system_fingerprint: 'fp_bench',
    choices: [
      {
        index: 0,
        delta: i === 0 ? { role: 'assistant', content: 'tok ' } : { content: 'tok ' },
        logprobs: null,
        finish_reason: i === count - 1 ? 'stop' : null,
      },
    ],
  }))
}

export function usageChunk(completionTokens: number): object {
  return {
    id,
    object: 'chat.completion.chunk',
    created,
    model: upstreamModel,
    system_fingerprint: 'fp_bench',
    choices: [],
    usage: {
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: completionTokens,
      total_tokens: usage.prompt_tokens + completionTokens,
    },
  }
}

/** Events a full stream answer to streamRequestBody holds: the chunks, the usage chunk and [DONE]. */
export const expectedStreamEvents = (chunks: number) => chunks + 2
