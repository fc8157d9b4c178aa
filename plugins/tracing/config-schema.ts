// `telemetry:`, OpenTelemetry tracing exported over OTLP/HTTP. Referenced from config/schema.ts.
// Tracing is off unless otlp_endpoint is set; an empty value (`${OTEL_ENDPOINT:-}`) keeps it off.
import { type Static, Type } from '@sinclair/typebox'

export const TelemetrySettings = Type.Object(
  {
    otlp_endpoint: Type.Optional(
      Type.Union([Type.Literal(''), Type.String({ format: 'uri' })], {
        description:
          'must be the http(s) URL of an OTLP/HTTP collector (e.g. http://127.0.0.1:4318; /v1/traces is added), or empty for no tracing',
      }),
    ),
    service_name: Type.String({ minLength: 1, default: 'anygate', description: 'service.name of the spans' }),
    headers: Type.Record(Type.String(), Type.String(), {
      default: {},
      description: 'sent to the collector with every export, e.g. its authorization',
    }),
    sample_ratio: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 1,
      description:
        'must be between 0 and 1: the share of new traces recorded; a request whose traceparent is sampled is always recorded',
    }),
    propagate_upstream: Type.Boolean({
      default: true,
      description: 'send a traceparent header to the providers, so their spans join the trace',
    }),
    batch_delay_ms: Type.Integer({
      minimum: 1,
      default: 5000,
      description: 'ended spans are exported in batches at least this often',
    }),
    export_timeout_ms: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: 'one export to the collector gives up after this long (spans are dropped)',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type TelemetrySettings = Static<typeof TelemetrySettings>

/** The collector's traces URL: OTLP/HTTP's /v1/traces under the configured base, unless already named. */
export function tracesUrl(endpoint: string): string {
  const url = new URL(endpoint)
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`
  return url.toString()
}
