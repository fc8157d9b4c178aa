import { describe, expect, it } from 'vitest'
import {
  encodeFloat32Base64,
  estimateTokens,
  mockEmbedding,
  planMockAnswer,
  splitIntoTokens,
} from '../providers/mock/responder.js'

describe('mock responder', () => {
  it('splits text into word tokens that rejoin exactly', () => {
    for (const text of ['', 'one', ' leading and  double  spaces ', 'ünïcödé — 漢字 🙂 ok']) {
      expect(splitIntoTokens(text).join('')).toBe(text)
    }
    expect(splitIntoTokens('a b c')).toEqual(['a', ' b', ' c'])
  })

  it('echoes the last user message, text parts included', () => {
    const plan = planMockAnswer(
      {
        model: 'x',
        messages: [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: 'reply' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'sec' },
              { type: 'image_url', image_url: { url: 'data:,' } },
              { type: 'text', text: 'ond' },
            ],
          },
        ],
      },
      'echo',
    )
    expect(plan.text).toBe('second')
    expect(plan.usage.completion_tokens).toBe(estimateTokens('second'))
  })

  it('embeds deterministically into unit vectors of the asked size', () => {
    const a = mockEmbedding('hello', 48)
    expect(a).toHaveLength(48)
    expect(Math.hypot(...a)).toBeCloseTo(1, 10)
    expect(mockEmbedding('hello', 48)).toEqual(a)
    expect(mockEmbedding('hello!', 48)).not.toEqual(a)
    const decoded = new Float32Array(Uint8Array.from(Buffer.from(encodeFloat32Base64(a), 'base64')).buffer)
    expect(Array.from(decoded)[0]).toBeCloseTo(a[0]!, 6)
  })
})
