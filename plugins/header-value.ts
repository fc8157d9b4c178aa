// A header value must be printable ASCII, but the model names echoed in x-anygate-* headers come
// from clients and upstreams and may hold anything (`mock/模型`, a newline). Node refuses such a
// value with an exception that would turn a served answer into a 500, so the bytes outside printable
// ASCII are percent-encoded as UTF-8 (and `%` with them, so the result decodes back).
const printable = /^[\x20-\x24\x26-\x7e]*$/

// The same few model names pass on every call: the last printable one skips the test.
let lastPrintable = ''

export function headerSafe(value: string): string {
  if (value === lastPrintable) return value
  if (printable.test(value)) {
    lastPrintable = value
    return value
  }
  let out = ''
  for (const char of value) {
    if (printable.test(char)) out += char
    // Buffer.from turns a lone surrogate into U+FFFD's bytes instead of throwing like encodeURI.
    else for (const byte of Buffer.from(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}
