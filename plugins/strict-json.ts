// The JSON body parser, made strict about encoding: Node decodes invalid UTF-8 to U+FFFD, which
// would silently change a prompt (and its cache key) instead of telling the client. The bytes are
// checked (isUtf8 runs natively, far below the cost of JSON.parse), then Fastify's own parser runs
// with its prototype-poisoning protection, so every other answer stays as Fastify gives it.
import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import { GatewayError } from './gateway-error.js'

export function useStrictJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer
    if (!isUtf8(bytes)) {
      done(
        new GatewayError(
          400,
          'The request body is not valid UTF-8. Encode the JSON body as UTF-8.',
          'invalid_request_error',
          'invalid_encoding',
        ),
        undefined,
      )
      return
    }
    const text = bytes.toString('utf8')
    // Fastify's parser rejects `__proto__` and `constructor` keys with two regular expressions run
    // over the text; a text holding neither word, literally or \u-escaped, can hold no such key,
    // and JSON.parse alone gives the same object. Anything else, errors included, goes to it.
    if (!text.includes('\\u00') && !text.includes('__proto__') && !text.includes('constructor')) {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        parseJson(request, text, done)
        return
      }
      done(null, parsed)
      return
    }
    parseJson(request, text, done)
  })
}
