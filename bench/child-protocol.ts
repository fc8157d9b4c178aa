// What the bench runner and its forked servers say to each other over IPC.
import type { AnyGateOptions } from './anygate-target.js'
import type { FakeUpstreamOptions } from './fake-upstream.js'
import type { FloorOptions } from './floor.js'
import type { SoakGatewayOptions } from './soak-gateway.js'
import type { SoakUpstreamOptions } from './soak-upstream.js'
import type { ProcessVitals } from './soak-vitals.js'

export type ServerSpec =
  | { kind: 'fake-upstream'; options: FakeUpstreamOptions }
  | { kind: 'floor'; options: FloorOptions }
  | { kind: 'anygate'; options: AnyGateOptions }
  | { kind: 'soak-upstream'; options: SoakUpstreamOptions }
  | { kind: 'soak-gateway'; options: SoakGatewayOptions }

export type ChildMessage =
  | { type: 'listening'; origin: string }
  | { type: 'failed'; message: string }
  /** User plus system CPU the child has used since it started. */
  | { type: 'cpu-usage'; micros: number }
  /** Memory and event-loop lag since the previous ask (the soak's view of the gateway). */
  | { type: 'vitals'; vitals: ProcessVitals }
  /** What the server counted itself, e.g. the faults a soak upstream injected. */
  | { type: 'stats'; stats: Record<string, number> }

export type ParentMessage =
  | { type: 'close' }
  | { type: 'cpu-usage' }
  /** gc: collect garbage first (only in a child forked with --expose-gc). */
  | { type: 'vitals'; gc: boolean }
  | { type: 'stats' }
