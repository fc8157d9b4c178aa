// The hook providers/shared/upstream-client.ts calls on every upstream request. It stays empty
// unless an app with tracing runs in this process, so a gateway that does not trace neither loads
// OpenTelemetry for it nor pays more than one check per call.

type HeaderInjector = (headers: Record<string, string>) => Record<string, string>

let injector: HeaderInjector | undefined
let users = 0

/** The headers of an upstream call, with the current trace context added when tracing is on. */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  return injector === undefined ? headers : injector(headers)
}

/** Installs the injector for an app; call the returned function when the app closes. */
export function useTraceHeaders(inject: HeaderInjector): () => void {
  users++
  injector = inject
  let stopped = false
  return () => {
    if (stopped) return
    stopped = true
    if (--users === 0) injector = undefined
  }
}
