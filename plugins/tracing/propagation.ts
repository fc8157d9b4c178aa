// W3C trace context in and out: the incoming traceparent becomes the server span's parent, and the
// upstream call of an attempt carries the attempt span's traceparent.
//
// Process-wide state is kept to what OpenTelemetry's API makes global anyway: the context manager
// (context.with and context.active() need one; it holds no spans of its own and is shared by every
// app in the process). No global tracer provider and no global propagator are registered: each app
// has its own provider (provider.ts), and the W3C propagator below is used directly.

import {
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  trace,
} from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'

const w3c = new W3CTraceContextPropagator()

let contextManagerChecked = false

/**
 * Makes context.with() work: registers an AsyncLocalStorage context manager unless the process
 * already has one (an embedding app's own OpenTelemetry setup keeps its manager).
 */
export function ensureContextManager(): void {
  if (contextManagerChecked) return
  contextManagerChecked = true
  const manager = new AsyncLocalStorageContextManager()
  if (!context.setGlobalContextManager(manager.enable())) manager.disable()
}

/** The caller's trace from traceparent/tracestate, or the root context when it sent none (or a bad one). */
export function incomingContext(headers: Record<string, string | string[] | undefined>): Context {
  return w3c.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
}

/**
 * The headers of an upstream call plus traceparent (and tracestate) when a span is current, i.e.
 * inside an attempt of a traced request. The same object when there is nothing to add: it is often
 * the client's shared default headers, which must not be written to.
 */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const active = context.active()
  if (trace.getSpan(active) === undefined) return headers
  const carrier: Record<string, string> = {}
  w3c.inject(active, carrier, defaultTextMapSetter)
  return carrier.traceparent ? { ...headers, ...carrier } : headers
}
