// Errors Node's HTTP parser raises before Fastify sees a request (headers over
// server.max_header_bytes, a malformed request line, a request that took too long), answered in the
// OpenAI error shape instead of Fastify's own, so every client reads one format. Written straight to
// the socket: there is no request or reply object yet.
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'

interface ParserError extends Error {
  code?: string
}

function answerFor(
  err: ParserError,
  maxHeaderBytes: number,
): { status: number; message: string; code: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW')
    return {
      status: 431,
      message: `The request headers are larger than the ${maxHeaderBytes} bytes this gateway accepts (server.max_header_bytes).`,
      code: 'headers_too_large',
    }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, message: 'The request took too long to arrive.', code: 'request_timeout' }
  return { status: 400, message: 'The HTTP request could not be parsed.', code: 'bad_http_request' }
}

export function clientErrorHandler(maxHeaderBytes: number) {
  return (err: ParserError, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const { status, message, code } = answerFor(err, maxHeaderBytes)
    const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } })
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Content-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
      )
    }
    socket.destroy()
  }
}
