// What Node's HTTP parser refuses before Fastify runs, answered in the OpenAI error shape: headers
// over server.max_header_bytes (431) and a request that is not HTTP (400). The server keeps serving.
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { listenTestApp } from '../helpers/app.js'

/** Sends raw bytes, resolves with everything the server wrote before closing. */
function rawRequest(origin: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(origin)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      answer += chunk
    })
    socket.on('error', () => resolve(answer))
    socket.on('close', () => resolve(answer))
    socket.on('connect', () => socket.write(bytes))
    setTimeout(() => reject(new Error(`no answer; got ${answer}`)), 5000).unref()
  })
}

const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))

describe('HTTP parser limits', () => {
  it('answers 431 in the OpenAI error shape for headers over server.max_header_bytes', async () => {
    const { origin } = await listenTestApp({
      server: { max_header_bytes: 2048 },
      providers: { mock: { type: 'mock' } },
    })
    const fits = await fetch(`${origin}/health/live`, { headers: { 'x-padding': 'a'.repeat(1000) } })
    expect(fits.status).toBe(200)

    const answer = await rawRequest(
      origin,
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(4000)}\r\n\r\n`,
    )
    expect(answer).toMatch(/^HTTP\/1\.1 431 /)
    expect(bodyOf(answer)).toEqual({
      error: {
        message:
          'The request headers are larger than the 2048 bytes this gateway accepts (server.max_header_bytes).',
        type: 'invalid_request_error',
        param: null,
        code: 'headers_too_large',
      },
    })
    expect((await fetch(`${origin}/health/live`)).status).toBe(200)
  })

  it('answers 400 in the OpenAI error shape for bytes that are not an HTTP request', async () => {
    const { origin } = await listenTestApp()
    const answer = await rawRequest(origin, 'HELLO THERE\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    expect(bodyOf(answer).error).toMatchObject({ type: 'invalid_request_error', code: 'bad_http_request' })
    expect((await fetch(`${origin}/health/live`)).status).toBe(200)
  })
})
