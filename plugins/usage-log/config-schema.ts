// `logging:`, the structured usage log's config (the access log stays under server.log_level).
// Referenced from config/schema.ts.
import { FormatRegistry, type Static, Type } from '@sinclair/typebox'

/** Redaction rules that ship with the gateway; see redact.ts for what each one matches. */
export const BuiltinRedactions = ['email', 'card', 'api_key', 'bearer'] as const
export type BuiltinRedaction = (typeof BuiltinRedactions)[number]

// A user pattern is checked when the config is validated, so a typo is a config error naming its
// path instead of a crash on the first logged request.
const regexFormat = 'anygate-regex'
if (!FormatRegistry.Has(regexFormat)) {
  FormatRegistry.Set(regexFormat, (value) => {
    try {
      new RegExp(value, 'g')
      return true
    } catch {
      return false
    }
  })
}

const KiB = 1024

export const UsageLogSettings = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'true: one JSON line per inference request (chat, embeddings, messages)',
    }),
    destination: Type.String({
      minLength: 1,
      default: 'stdout',
      description: 'stdout, or a file appended to (relative to the config file; its folder must exist)',
    }),
    buffer_bytes: Type.Integer({
      minimum: 1024,
      default: 4 * KiB * KiB,
      description:
        'records waiting to be written beyond this are dropped (and counted in a warning) instead of held in memory',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type UsageLogSettings = Static<typeof UsageLogSettings>

export const RedactSettings = Type.Object(
  {
    builtin: Type.Array(
      Type.Union(
        BuiltinRedactions.map((name) => Type.Literal(name)),
        { description: `must be one of ${BuiltinRedactions.join(', ')}` },
      ),
      {
        default: [...BuiltinRedactions],
        uniqueItems: true,
        description: 'the shipped rules to apply; [] turns them all off',
      },
    ),
    patterns: Type.Array(
      Type.String({
        minLength: 1,
        format: regexFormat,
        description: 'must be a valid JavaScript regular expression',
      }),
      { default: [], description: 'your own regular expressions, each matched globally' },
    ),
    replacement: Type.String({ default: '[redacted]', description: 'what replaces each match' }),
  },
  { additionalProperties: false, default: {} },
)
export type RedactSettings = Static<typeof RedactSettings>

export const LoggingSettings = Type.Object(
  {
    usage: UsageLogSettings,
    bodies: Type.Boolean({
      default: false,
      description: 'true: the usage log also holds the request and the answer, redacted',
    }),
    max_body_bytes: Type.Integer({
      minimum: 256,
      default: 64 * KiB,
      description: 'a logged request or answer larger than this is cut and marked *_truncated',
    }),
    redact: RedactSettings,
  },
  { additionalProperties: false, default: {} },
)
export type LoggingSettings = Static<typeof LoggingSettings>
