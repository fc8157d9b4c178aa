import { describe, expect, test } from 'vitest'
import { encodingForModel } from '../plugins/tokens/encoders.js'
import { estimateTokens } from '../plugins/tokens/estimate.js'
import { type CountTokensRequest, estimateInputTokens } from '../routes/messages/count-tokens.js'

// The example from OpenAI's cookbook "How to count tokens with tiktoken", whose counts the API
// itself reports as prompt_tokens: 129 for gpt-3.5-turbo and gpt-4 (cl100k_base), 124 for gpt-4o
// and gpt-4o-mini (o200k_base).
const cookbookMessages = [
  {
    role: 'system',
    content:
      'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.',
  },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  {
    role: 'system',
    name: 'example_assistant',
    content: 'Things working well together will increase revenue.',
  },
  {
    role: 'system',
    name: 'example_user',
    content:
      "Let's circle back when we have more time to touch base on opportunities for increased leverage.",
  },
  {
    role: 'system',
    name: 'example_assistant',
    content: "Let's talk later when we're less busy about how to do better.",
  },
  {
    role: 'user',
    content: "This late pivot means we don't have time to boil the ocean for the client deliverable.",
  },
]

describe('OpenAI-family models are counted with their tokenizer', () => {
  test.each([
    ['gpt-4o', 124],
    ['gpt-4o-mini', 124],
    ['openai/gpt-4o-2024-08-06', 124],
    ['gpt-4', 129],
    ['gpt-3.5-turbo', 129],
  ])('the cookbook chat costs %s the %i prompt tokens the API reports', (model, expected) => {
    expect(estimateTokens('chat', { model, messages: cookbookMessages }, model).prompt).toBe(expected)
  })

  test.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4.1-mini', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['ft:gpt-4o-mini:acme::abc123', 'o200k_base'],
    ['azure/gpt-4-turbo', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['claude-sonnet-4-5', undefined],
    ['gemini-2.5-flash', undefined],
    ['fast', undefined],
  ])('%s uses %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding)
  })

  test('embeddings count each input without chat framing, token ids one each', () => {
    const model = 'text-embedding-3-small'
    expect(estimateTokens('embeddings', { input: 'hello world' }, model)).toEqual({
      prompt: 2,
      maxOutput: undefined,
    })
    expect(estimateTokens('embeddings', { input: ['hello world', 'hello'] }, model).prompt).toBe(3)
    expect(estimateTokens('embeddings', { input: [1, 2, 3] }, model).prompt).toBe(3)
    expect(estimateTokens('embeddings', { input: [[1, 2], [3]] }, model).prompt).toBe(3)
  })

  test('special-token text in a prompt is counted as plain text instead of throwing', () => {
    expect(estimateTokens('embeddings', { input: 'hi <|endoftext|> x' }, 'gpt-4o').prompt).toBe(9)
  })

  test('images count 765 tokens (85 at detail low); tool definitions and tool calls count as text', () => {
    const image = (detail?: string) => ({
      role: 'user',
      content: [
        {
          type: 'image_url',
          image_url: { url: 'data:image/png;base64,AAAA', ...(detail ? { detail } : {}) },
        },
      ],
    })
    const base = estimateTokens('chat', { messages: [] }, 'gpt-4o').prompt
    expect(base).toBe(3)
    const one = (message: unknown) => estimateTokens('chat', { messages: [message] }, 'gpt-4o').prompt
    // 3 framing + 1 for "user" + the image + 3 reply priming
    expect(one(image())).toBe(3 + 1 + 765 + 3)
    expect(one(image('low'))).toBe(3 + 1 + 85 + 3)
    const withTools = estimateTokens(
      'chat',
      { messages: [], tools: [{ type: 'function', function: { name: 'get_weather', parameters: {} } }] },
      'gpt-4o',
    ).prompt
    expect(withTools).toBeGreaterThan(base + 5)
    const call = one({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      ],
    })
    expect(call).toBeGreaterThan(3 + 1 + 3 + 5)
  })
})

describe('other models get a documented estimate', () => {
  test('about 4 characters a token, with the same per-message framing', () => {
    const content = 'x'.repeat(400)
    // "user" is 4 characters: (4 + 400) / 4 = 101, plus 3 framing and 3 priming.
    expect(
      estimateTokens('chat', { messages: [{ role: 'user', content }] }, 'claude-sonnet-4-5').prompt,
    ).toBe(107)
    expect(estimateTokens('embeddings', { input: content }, 'gemini-embedding-001').prompt).toBe(100)
  })

  test('images count 1,600 tokens', () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }],
    }
    expect(estimateTokens('chat', body, 'gemini-2.5-flash').prompt).toBe(3 + 1 + 1600 + 3)
  })

  test('an Anthropic-format body is counted as /v1/messages/count_tokens counts it', () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 256,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the capital of France?' }] }],
    }
    expect(estimateTokens('messages', body, 'claude-sonnet-4-5')).toEqual({
      prompt: estimateInputTokens(body as CountTokensRequest),
      maxOutput: 256,
    })
  })
})

describe('maxOutput', () => {
  const messages = [{ role: 'user', content: 'hi' }]
  test('is max_completion_tokens, else max_tokens, times n', () => {
    expect(
      estimateTokens('chat', { messages, max_completion_tokens: 50, max_tokens: 10 }, 'gpt-4o').maxOutput,
    ).toBe(50)
    expect(estimateTokens('chat', { messages, max_tokens: 10 }, 'gpt-4o').maxOutput).toBe(10)
    expect(estimateTokens('chat', { messages, max_tokens: 10, n: 3 }, 'gpt-4o').maxOutput).toBe(30)
  })
  test('is undefined when the request sets no bound', () => {
    expect(estimateTokens('chat', { messages }, 'gpt-4o').maxOutput).toBeUndefined()
  })
})

describe('bad input never throws', () => {
  test.each([
    ['chat', null],
    ['chat', 'text'],
    ['chat', { messages: 'nope' }],
    ['chat', { messages: [null, 3, { role: 'user', content: [null, { type: 'text' }] }] }],
    ['embeddings', { input: { a: 1 } }],
    ['messages', { messages: [{ role: 'user', content: [{ type: 'text' }] }] }],
    ['messages', { messages: 'x' }],
  ] as const)('%s %j', (kind, body) => {
    const estimate = estimateTokens(kind, body, 'gpt-4o')
    expect(Number.isFinite(estimate.prompt)).toBe(true)
  })
})

describe('the work on huge inputs is bounded', () => {
  test('text beyond the tokenized share is counted at the measured ratio', () => {
    // 100,001 tokens exactly under o200k_base.
    const input = 'The quick brown fox jumps over the lazy dog. '.repeat(10_000)
    const { prompt } = estimateTokens('embeddings', { input }, 'gpt-4o')
    expect(Math.abs(prompt - 100_001) / 100_001).toBeLessThan(0.01)
  })

  test('an unbroken run of 200,000 CJK characters (minutes in one BPE piece) is estimated in well under a second', () => {
    const input = Array.from({ length: 200_000 }, (_, i) =>
      String.fromCharCode(0x4e00 + ((i * 7919) % 20_000)),
    ).join('')
    const started = performance.now()
    const { prompt } = estimateTokens('embeddings', { input }, 'gpt-4o')
    expect(performance.now() - started).toBeLessThan(1000)
    // About two tokens a character for these rare ideographs, far above a 4-characters-a-token guess.
    expect(prompt).toBeGreaterThan(300_000)
  })
})
