// Redaction of logged bodies: pure functions, no I/O. Every string value of a body (never its keys)
// has each match of the active rules replaced. The shipped rules are anchored on a left boundary
// (a lookbehind) or a literal prefix, so scanning stays linear on long texts without matches.
import type { BuiltinRedaction, RedactSettings } from './config-schema.js'

/** One rule: a global regex, and optionally what to put instead of a match (default: the replacement). */
export interface RedactionRule {
  readonly pattern: RegExp
  readonly replace?: (match: string, replacement: string) => string
}

/** The Luhn checksum every payment card number satisfies (about one random number in ten does too). */
export function luhnValid(digits: string): boolean {
  let sum = 0
  let double = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (d < 0 || d > 9) return false
    if (double) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    double = !double
  }
  return digits.length > 0 && sum % 10 === 0
}

const isCardLength = (digits: string) => digits.length >= 13 && digits.length <= 19

/**
 * A run of 13 to 19 digits, optionally grouped by single spaces or dashes, is replaced where a
 * Luhn-valid card number is in it: the whole run, else the longest run of whole groups that is one
 * (so "4111 1111 1111 1111 12" still loses its card). Other numbers (order ids, phone numbers) stay.
 */
export function redactCardRun(run: string, replacement: string): string {
  if (luhnValid(run.replace(/[ -]/g, ''))) return replacement
  const groups = [...run.matchAll(/\d+/g)].map((m) => ({ start: m.index, end: m.index + m[0].length }))
  let out = ''
  let copied = 0
  let i = 0
  while (i < groups.length) {
    let found = -1
    let digits = ''
    for (let j = i; j < groups.length; j++) {
      digits += run.slice(groups[j]!.start, groups[j]!.end)
      if (digits.length > 19) break
      if (isCardLength(digits) && luhnValid(digits)) found = j
    }
    if (found < 0) {
      i++
      continue
    }
    out += run.slice(copied, groups[i]!.start) + replacement
    copied = groups[found]!.end
    i = found + 1
  }
  return copied === 0 ? run : out + run.slice(copied)
}

/** Integers a JSON body may carry a card number as. */
function isCardNumber(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1e12 && luhnValid(String(value))
}

/** The shipped rules by name. */
export const builtinRules: Record<BuiltinRedaction, readonly RedactionRule[]> = {
  email: [
    {
      // The local part takes every character RFC 5322 allows unquoted (atext and dots).
      pattern:
        /(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
    },
  ],
  card: [{ pattern: /(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)/g, replace: redactCardRun }],
  api_key: [
    // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-), DeepSeek and AnyGate's own virtual keys (sk-ag-).
    { pattern: /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{16,}/g },
    // Google API keys.
    { pattern: /AIza[0-9A-Za-z_-]{35}/g },
    // AWS access key ids.
    { pattern: /(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])/g },
    // GitHub, Slack and Groq tokens.
    { pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/g },
    { pattern: /(?<![A-Za-z0-9-])xox[abprs]-[A-Za-z0-9-]{10,}/g },
    { pattern: /(?<![A-Za-z0-9_])gsk_[A-Za-z0-9]{20,}/g },
  ],
  bearer: [
    // A token after Bearer, when it has a digit: "Bearer instruments" in prose stays.
    { pattern: /(?:\b[Bb]earer|\bBEARER)\s+(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{8,}=*/g },
    // JSON Web Tokens, wherever they appear.
    { pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g },
  ],
}

export interface Redactor {
  /** The text with every match replaced. */
  text(text: string): string
  /** A copy of a JSON value with every string value redacted; keys and other values are kept. */
  value(value: unknown): unknown
}

// Replacing one match can bring two pieces of text together into a new match; repeating until
// nothing changes makes redaction idempotent. Each pass only shrinks the secrets, so few are needed.
const maxPasses = 4
// Bodies come from clients: a nesting deeper than any real request is cut rather than recursed into.
const maxDepth = 64

export function redactText(text: string, rules: readonly RedactionRule[], replacement: string): string {
  let current = text
  for (let pass = 0; pass < maxPasses; pass++) {
    let next = current
    for (const rule of rules) {
      rule.pattern.lastIndex = 0
      next = next.replace(rule.pattern, (match) => {
        // A user pattern that matches empty text would otherwise insert the replacement everywhere.
        if (match === '') return match
        return rule.replace ? rule.replace(match, replacement) : replacement
      })
    }
    if (next === current) return current
    current = next
  }
  return current
}

export function redactValue(
  value: unknown,
  text: (s: string) => string,
  replacement: string,
  redactNumbers = true,
  depth = 0,
): unknown {
  if (typeof value === 'string') return text(value)
  if (typeof value === 'number') return redactNumbers && isCardNumber(value) ? replacement : value
  if (value === null || typeof value !== 'object') return value
  if (depth >= maxDepth) return '[too deep]'
  if (Array.isArray(value))
    return value.map((v) => redactValue(v, text, replacement, redactNumbers, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    const redacted = redactValue(v, text, replacement, redactNumbers, depth + 1)
    // A parsed "__proto__" key is an own property; assigning it would set the prototype instead.
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: redacted,
        enumerable: true,
        writable: true,
        configurable: true,
      })
    else out[key] = redacted
  }
  return out
}

/** The rules a `logging.redact` section turns on, the user's patterns after the shipped ones. */
export function rulesFor(settings: Pick<RedactSettings, 'builtin' | 'patterns'>): RedactionRule[] {
  const rules: RedactionRule[] = settings.builtin.flatMap((name) => builtinRules[name])
  for (const source of settings.patterns) rules.push({ pattern: new RegExp(source, 'g') })
  return rules
}

export function createRedactor(settings: RedactSettings): Redactor {
  const rules = rulesFor(settings)
  const { replacement } = settings
  const cards = settings.builtin.includes('card')
  const text = rules.length === 0 ? (s: string) => s : (s: string) => redactText(s, rules, replacement)
  return {
    text,
    value: (value) => redactValue(value, text, replacement, cards),
  }
}
