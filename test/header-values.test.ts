// Model names echoed in x-anygate-* headers come from clients: anything outside printable ASCII is
// percent-encoded (UTF-8) instead of making Node refuse the header and the answer turn into a 500.
import { describe, expect, it } from 'vitest'
import { headerSafe } from '../plugins/header-value.js'
import { buildTestApp, chatBody } from './helpers/app.js'

describe('headerSafe', () => {
  it('leaves printable ASCII alone and percent-encodes the rest, % included', () => {
    expect(headerSafe('gpt-4o-mini')).toBe('gpt-4o-mini')
    expect(headerSafe('模型')).toBe('%E6%A8%A1%E5%9E%8B')
    expect(headerSafe('a\nb%')).toBe('a%0Ab%25')
    expect(decodeURIComponent(headerSafe('naïve 100% 模型'))).toBe('naïve 100% 模型')
    // A lone surrogate cannot be UTF-8: it becomes U+FFFD instead of throwing.
    expect(headerSafe('x\uD800')).toBe('x%EF%BF%BD')
  })
})

describe('a model name outside ASCII', () => {
  it('is served, with the header encoded, as JSON and as a stream', async () => {
    const { app } = await buildTestApp()
    for (const stream of [false, true]) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: { ...chatBody('mock/模型\n'), stream },
      })
      expect(res.statusCode).toBe(200)
      expect(res.headers['x-anygate-model']).toBe('%E6%A8%A1%E5%9E%8B%0A')
    }
  })

  it('still gets its error in the OpenAI shape when the upstream fails', async () => {
    const { app } = await buildTestApp({
      providers: { mock: { type: 'mock' } },
      models: [],
      routing: { retries: 0 },
    })
    const res = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      headers: { 'x-mock-error': '500' },
      payload: chatBody('mock/模型'),
    })
    expect(res.statusCode).toBeGreaterThanOrEqual(500)
    expect(res.json().error).toMatchObject({ type: expect.any(String), message: expect.any(String) })
    expect(res.headers['x-anygate-model']).toBe('%E6%A8%A1%E5%9E%8B')
  })
})
