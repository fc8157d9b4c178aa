// One tracer provider per app, never registered globally: several apps in one process (tests, an
// embedding server) each export their own spans and flush them when they close.
import type { Tracer } from '@opentelemetry/api'
import { ExportResultCode } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import { type TelemetrySettings, tracesUrl } from './config-schema.js'

export interface GatewayTracing {
  tracer: Tracer
  /** Exports what is buffered and stops the exporter; the app's onClose calls it. */
  shutdown(): Promise<void>
}

/** Where failed exports are reported: the app's logger, at most once a minute. */
export type ExportFailureLog = (error: Error | undefined) => void

export function throttledFailureLog(
  warn: (error: Error | undefined) => void,
  now: () => number = Date.now,
  everyMs = 60_000,
): ExportFailureLog {
  let last = Number.NEGATIVE_INFINITY
  return (error) => {
    if (now() - last < everyMs) return
    last = now()
    warn(error)
  }
}

/** The OTLP exporter, reporting failures itself: OpenTelemetry's own diag logger is global and silent. */
function reportingExporter(exporter: SpanExporter, onFailure: ExportFailureLog): SpanExporter {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) onFailure(result.error)
        done(result)
      })
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  }
}

export function createTracing(
  settings: TelemetrySettings & { otlp_endpoint: string },
  onExportFailure: ExportFailureLog,
): GatewayTracing {
  const exporter = new OTLPTraceExporter({
    url: tracesUrl(settings.otlp_endpoint),
    headers: settings.headers,
    timeoutMillis: settings.export_timeout_ms,
  })
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.service_name })),
    // A caller's sampling decision (the traceparent's flag) wins; new traces are sampled by ratio.
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.sample_ratio) }),
    spanProcessors: [
      new BatchSpanProcessor(reportingExporter(exporter, onExportFailure), {
        scheduledDelayMillis: settings.batch_delay_ms,
        exportTimeoutMillis: settings.export_timeout_ms,
      }),
    ],
  })
  return {
    tracer: provider.getTracer('anygate'),
    // A failed last export was logged by the exporter; it must not fail the app's close.
    shutdown: () => provider.shutdown().catch(() => {}),
  }
}
