// `metrics:`, the Prometheus endpoint's config. Referenced from config/schema.ts.
import { type Static, Type } from '@sinclair/typebox'

export const MetricsSettings = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'false: no /metrics route and no metrics hooks at all',
    }),
    path: Type.String({
      default: '/metrics',
      pattern: '^/[A-Za-z0-9._~/-]*$',
      description: 'must be a URL path starting with /',
    }),
    auth: Type.Union([Type.Literal('none'), Type.Literal('master')], {
      default: 'none',
      description:
        'must be none (anyone who reaches the port may scrape) or master (the scraper sends auth.master_key; 403 when none is set)',
    }),
    default_metrics: Type.Boolean({
      default: true,
      description:
        'also expose the process metrics (CPU, memory, event loop lag, GC) under their usual names',
    }),
    max_model_labels: Type.Integer({
      minimum: 1,
      default: 200,
      description:
        'distinct model (and target) label values beyond the configured ones; later names count as "unknown"',
    }),
  },
  { additionalProperties: false, default: {} },
)
export type MetricsSettings = Static<typeof MetricsSettings>
