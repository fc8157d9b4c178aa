// Redaction of logged bodies (plugins/usage-log/redact.ts): examples of what each shipped rule takes
// and leaves, then fast-check properties: secrets never survive, text around them is kept, text
// without any is untouched, and redacting twice changes nothing more.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createRedactor,
  luhnValid,
  type RedactionRule,
  redactCardRun,
  rulesFor,
} from '../plugins/usage-log/redact.js'

const all = createRedactor({
  builtin: ['email', 'card', 'api_key', 'bearer'],
  patterns: [],
  replacement: '[redacted]',
})
const R = '[redacted]'

describe('redaction examples', () => {
  it.each([
    ['mail jane.doe+tag@example.co.uk today', `mail ${R} today`],
    ["<o'brien@mail-server.example.org>", `<${R}>`],
    ['card 4242 4242 4242 4242, exp 12/30', `card ${R}, exp 12/30`],
    ['card 4111-1111-1111-1111.', `card ${R}.`],
    ['amex 378282246310005!', `amex ${R}!`],
    ['card 4111 1111 1111 1111 12 (qty)', `card ${R} 12 (qty)`],
    ['key sk-proj-AbCdEf0123456789_xyz-QRS end', `key ${R} end`],
    ['"sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"', `"${R}"`],
    ['virtual sk-ag-Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA', `virtual ${R}`],
    ['google AIzaSyA-1234567890abcdefghijklmnopqrstu', `google ${R}`],
    ['aws AKIAIOSFODNN7EXAMPLE id', `aws ${R} id`],
    ['Authorization: Bearer abc123.def-456_ghi', `Authorization: ${R}`],
    ['gh token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', `gh token ${R}`],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig_part-1', `jwt ${R}`],
  ])('%j', (input, expected) => {
    expect(all.text(input)).toBe(expected)
  })

  it.each([
    'order 1234 5678 9012 3456 shipped', // 16 digits, not a card number (Luhn fails)
    'call +1 555-123-4567 or 0049 30 1234567',
    'id 12345678901234567890123 is long', // 23 digits: no card has that many
    'a task-management-framework-for-everyone', // "sk-" inside a word
    'the Bearer instruments are transferable', // no digit: prose, not a token
    'user@localhost and @handle and a@b',
    'ISO 2024-01-15T10:30:00Z, version 1.2.3',
    'naïve café — 日本語 🙂',
  ])('leaves %j alone', (input) => {
    expect(all.text(input)).toBe(input)
  })

  it('redacts string values at any depth, keeps keys and other values, and does not mutate', () => {
    const body = {
      model: 'gpt-4o',
      temperature: 0,
      messages: [
        { role: 'user', content: 'I am jane@example.com' },
        { role: 'user', content: [{ type: 'text', text: 'pay with 4242424242424242' }] },
      ],
      'jane@example.com': 'key-as-name',
      metadata: { card_as_number: 4242424242424242, count: 1234567890123 },
    }
    const copy = structuredClone(body)
    expect(all.value(body)).toEqual({
      model: 'gpt-4o',
      temperature: 0,
      messages: [
        { role: 'user', content: `I am ${R}` },
        { role: 'user', content: [{ type: 'text', text: `pay with ${R}` }] },
      ],
      'jane@example.com': 'key-as-name',
      metadata: { card_as_number: R, count: 1234567890123 },
    })
    expect(body).toEqual(copy)
  })

  it('applies user patterns after the shipped ones, and only the shipped rules asked for', () => {
    const custom = createRedactor({
      builtin: ['email'],
      patterns: ['ACME-\\d{6}', 'x*'],
      replacement: '***',
    })
    // 'x*' matches empty text everywhere: only its non-empty matches are replaced.
    expect(custom.text('ticket ACME-123456 from bob@acme.io, key sk-abcdefghijklmnopqrstu xx')).toBe(
      'ticket *** from ***, key sk-abcdefghijklmnopqrstu ***',
    )
    const none = createRedactor({ builtin: [], patterns: [], replacement: R })
    expect(none.text('bob@acme.io 4242424242424242')).toBe('bob@acme.io 4242424242424242')
    expect(none.value({ n: 4242424242424242 })).toEqual({ n: 4242424242424242 })
  })

  it('checks card numbers with Luhn', () => {
    expect(luhnValid('4242424242424242')).toBe(true)
    expect(luhnValid('4242424242424241')).toBe(false)
    expect(luhnValid('')).toBe(false)
    expect(redactCardRun('1234 5678 9012 3456', R)).toBe('1234 5678 9012 3456')
    expect(redactCardRun('99 4242 4242 4242 4242', R)).toBe(`99 ${R}`)
  })

  it('stays fast on long text without matches and on text full of near misses', () => {
    const started = performance.now()
    all.text('a'.repeat(200_000))
    all.text('a.b-c_d+'.repeat(25_000))
    all.text('1 2 3 4 5 6 7 8 9 '.repeat(10_000))
    all.text('x@y '.repeat(50_000))
    all.text('sk-'.repeat(60_000))
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})

// --- properties ---

/** Random digits, then the Luhn check digit: a valid card number of 13 to 19 digits. */
const cardNumber = fc
  .array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 18 })
  .map((digits) => {
    const body = digits.join('')
    for (let check = 0; check <= 9; check++) if (luhnValid(body + check)) return body + check
    throw new Error('unreachable')
  })
/** As people write them: plain, or in groups of four split by spaces or dashes. */
const formattedCard = fc
  .tuple(cardNumber, fc.constantFrom('', ' ', '-'))
  .map(([digits, sep]) => (sep === '' ? digits : (digits.match(/.{1,4}/g) ?? []).join(sep)))

const keyChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-')
const keyTail = (min: number, max: number) => fc.string({ unit: keyChars, minLength: min, maxLength: max })
const upperDigits = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')
const apiKey = fc.oneof(
  fc
    .tuple(fc.constantFrom('sk-', 'sk-proj-', 'sk-ant-api03-', 'sk-ag-'), keyTail(20, 80))
    .map(([p, t]) => p + t),
  keyTail(35, 35).map((t) => `AIza${t}`),
  fc
    .tuple(fc.constantFrom('AKIA', 'ASIA'), fc.string({ unit: upperDigits, minLength: 16, maxLength: 16 }))
    .map(([p, t]) => p + t),
)
const secret = fc.oneof(fc.emailAddress(), formattedCard, apiKey)

/** Text that can't hold or extend a secret: lower-case letters, spaces, some punctuation, non-ASCII. */
const safeText = fc.string({ unit: fc.constantFrom(...'abcdefghij xyz,;:!?()"\n\té中🙂'), maxLength: 40 })
/** What may stand right beside a secret in real text. */
const separator = fc.constantFrom(' ', '\n', ', ', ' (', ') ', '"', ': ', '\t')

/** A secret still in the text, judged by the shipped rules themselves (cards by Luhn). */
function anyShippedMatch(text: string): string | undefined {
  for (const rule of rulesFor({
    builtin: ['email', 'card', 'api_key', 'bearer'],
    patterns: [],
  }) as RedactionRule[]) {
    for (const [match] of text.matchAll(new RegExp(rule.pattern.source, 'g'))) {
      if (!rule.replace || rule.replace(match, '#') !== match) return match
    }
  }
  return undefined
}

describe('redaction properties', () => {
  it('never leaves an email, card number or key in the text, and keeps the text around it', () => {
    fc.assert(
      fc.property(safeText, separator, secret, separator, safeText, (before, s1, value, s2, after) => {
        const text = before + s1 + value + s2 + after
        const out = all.text(text)
        expect(out).toBe(`${before}${s1}${R}${s2}${after}`)
        expect(out).not.toContain(value)
        expect(anyShippedMatch(out)).toBeUndefined()
      }),
      { numRuns: 500 },
    )
  })

  it('never leaves a match of the shipped rules in any text', () => {
    const noisy = fc.array(fc.oneof(fc.string(), secret, separator, fc.constantFrom('@', '-', '.', ' ')), {
      maxLength: 12,
    })
    fc.assert(
      fc.property(noisy, (parts) => {
        expect(anyShippedMatch(all.text(parts.join('')))).toBeUndefined()
      }),
      { numRuns: 500 },
    )
  })

  it('is idempotent', () => {
    const mixed = fc.array(fc.oneof(fc.string(), secret, separator), { maxLength: 10 }).map((p) => p.join(''))
    fc.assert(
      fc.property(mixed, (text) => {
        const once = all.text(text)
        expect(all.text(once)).toBe(once)
      }),
      { numRuns: 500 },
    )
  })

  it('never changes text without matches', () => {
    fc.assert(
      fc.property(safeText, (text) => {
        expect(all.text(text)).toBe(text)
      }),
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        fc.pre(anyShippedMatch(text) === undefined)
        expect(all.text(text)).toBe(text)
      }),
      { numRuns: 500 },
    )
  })

  it('redacts every string of a JSON value and nothing else', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const out = all.value(value)
        const leaves: unknown[] = []
        JSON.stringify(value, (_key, v) => {
          if (typeof v === 'string' || typeof v === 'number') leaves.push(v)
          return v
        })
        const clean = leaves.every((leaf) =>
          typeof leaf === 'string'
            ? anyShippedMatch(leaf) === undefined
            : !(Number.isSafeInteger(leaf) && (leaf as number) >= 1e12 && luhnValid(String(leaf))),
        )
        // The same keys, in the same order, at the top; the same value when no leaf holds a secret.
        if (value !== null && typeof value === 'object')
          expect(Object.keys(out as object)).toEqual(Object.keys(value))
        if (clean) expect(JSON.stringify(out)).toBe(JSON.stringify(value))
        else expect(JSON.stringify(out)).toContain(R)
      }),
      { numRuns: 300 },
    )
  })
})
