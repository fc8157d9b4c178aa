// What the bench runner and its forked servers say to each other over IPC.
import type { AnyGateOptions } from './anygate-target.js'
import type { FakeUpstreamOptions } from './fake-upstream.js'
import type { FloorOptions } from './floor.js'

export type ServerSpec =
  | { kind: 'fake-upstream'; options: FakeUpstreamOptions }
  | { kind: 'floor'; options: FloorOptions }
  | { kind: 'anygate'; options: AnyGateOptions }

export type ChildMessage =
  | { type: 'listening'; origin: string }
  | { type: 'failed'; message: string }
  /** User plus system CPU the child has used since it started. */
  | { type: 'cpu-usage'; micros: number }

export type ParentMessage = { type: 'close' } | { type: 'cpu-usage' }
