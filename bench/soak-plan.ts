// What each soak request is, decided before it is sent: its kind, whether it is one of the few
// cacheable ones, whether the client walks away mid-stream, and which fault the upstream injects.
// The client knows the plan, so it knows which requests must succeed and which may end in a clean
// error. Pure: randomness comes in as a function, so a seed replays the same mix.
import { createSeededRng } from '../plugins/router/random.js'

export const requestKinds = ['chat', 'chat-stream', 'embeddings', 'messages', 'messages-stream'] as const
export type RequestKind = (typeof requestKinds)[number]

export const isStreamKind = (kind: RequestKind) => kind === 'chat-stream' || kind === 'messages-stream'

/** Share of each kind in the load (sums to 1). */
export const kindShares: Record<RequestKind, number> = {
  chat: 0.35,
  'chat-stream': 0.25,
  embeddings: 0.15,
  messages: 0.12,
  'messages-stream': 0.13,
}

/**
 * Share of each kind sent as one of a few fixed cacheable requests (chat at temperature 0,
 * embeddings of a fixed input). The sets are small, so the cache fills during the warm-up and its
 * size stays flat afterwards: growth after the warm-up is then not the cache doing its job.
 */
export const cacheableShares: Record<RequestKind, number> = {
  chat: 1 / 3,
  'chat-stream': 1 / 5,
  embeddings: 1 / 2,
  messages: 0,
  'messages-stream': 0,
}

/** How many distinct cacheable requests of each kind there are. */
export const cacheVariants: Record<RequestKind, number> = {
  chat: 16,
  'chat-stream': 8,
  embeddings: 32,
  messages: 0,
  'messages-stream': 0,
}

export const faultTypes = ['reset', 'status-500', 'status-429', 'stall', 'truncated', 'malformed'] as const
export type FaultType = (typeof faultTypes)[number]

/** Faults that can also strike after the first chunk of a stream. */
const midStreamFaults: readonly FaultType[] = ['reset', 'stall', 'truncated', 'malformed']

export interface FaultPlan {
  type: FaultType
  /** start: before any byte of the body; mid: after `afterChunks` chunks of a stream. */
  at: 'start' | 'mid'
  /** first: only the first upstream attempt fails, so the gateway's retry must save the call. */
  attempts: 'first' | 'every'
  /** Chunks a mid-stream fault lets through first (0 for start). */
  afterChunks: number
}

export interface RequestPlan {
  seq: number
  kind: RequestKind
  /** Index of the fixed cacheable request sent, when this is one. */
  cacheVariant?: number
  fault?: FaultPlan
  /** The client aborts after reading this many SSE events (streams only). */
  abortAfterEvents?: number
}

/** What the client must see for a plan; anything else is a soak failure. */
export type Expectation = 'success' | 'clean-error' | 'client-abort'

export interface MixSettings {
  /** Share of all requests the upstream answers with a fault. */
  faultShare: number
  /** Share of streams the client aborts mid-way. */
  abortShare: number
  /** Content chunks of a healthy streamed answer: mid-stream faults and aborts happen before the end. */
  streamChunks: number
}

export const defaultMix: MixSettings = { faultShare: 0.07, abortShare: 0.03, streamChunks: 50 }

/** The router's mulberry32: small, fast and good enough to spread a load mix; not for anything secret. */
export const seededRandom: (seed: number) => () => number = createSeededRng

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!

function pickKind(random: () => number): RequestKind {
  let roll = random()
  for (const kind of requestKinds) {
    roll -= kindShares[kind]
    if (roll < 0) return kind
  }
  return requestKinds[requestKinds.length - 1]!
}

function planFault(kind: RequestKind, random: () => number, streamChunks: number): FaultPlan {
  const type = pick(faultTypes, random)
  if (isStreamKind(kind) && midStreamFaults.includes(type) && random() < 0.5) {
    // At least one chunk reaches the client first, and at least one is still to come.
    const afterChunks = 1 + Math.floor(random() * (streamChunks - 2))
    return { type, at: 'mid', attempts: 'first', afterChunks }
  }
  return { type, at: 'start', attempts: random() < 0.65 ? 'first' : 'every', afterChunks: 0 }
}

export function planRequest(seq: number, random: () => number, mix: MixSettings = defaultMix): RequestPlan {
  const kind = pickKind(random)
  // A faulted call is never cacheable: a request whose first attempt failed must not be answered
  // from a cache that an earlier, identical request filled.
  if (random() < mix.faultShare) return { seq, kind, fault: planFault(kind, random, mix.streamChunks) }
  if (random() < cacheableShares[kind]) {
    return { seq, kind, cacheVariant: Math.floor(random() * cacheVariants[kind]) }
  }
  if (isStreamKind(kind) && random() < mix.abortShare) {
    const abortAfterEvents = 2 + Math.floor(random() * Math.min(20, mix.streamChunks - 4))
    return { seq, kind, abortAfterEvents }
  }
  return { seq, kind }
}

export function expectationOf(plan: RequestPlan): Expectation {
  if (plan.abortAfterEvents !== undefined) return 'client-abort'
  if (!plan.fault) return 'success'
  // A stream is never retried once its first chunk went out: it must end with an error event.
  if (plan.fault.at === 'mid') return 'clean-error'
  return plan.fault.attempts === 'first' ? 'success' : 'clean-error'
}

/**
 * The marker a faulted request carries in its prompt (or embeddings input), which the gateway passes
 * upstream untouched whatever the route's translation: `soak-fault:<seq>:<type>:<at>:<attempts>:<chunks>`.
 */
export function faultMarker(seq: number, fault: FaultPlan): string {
  return `soak-fault:${seq}:${fault.type}:${fault.at}:${fault.attempts}:${fault.afterChunks}`
}

const markerPattern = /soak-fault:(\d+):([a-z0-9-]+):(start|mid):(first|every):(\d+)/

export function parseFaultMarker(text: string): { seq: number; fault: FaultPlan } | undefined {
  const match = markerPattern.exec(text)
  if (!match) return undefined
  const type = match[2] as FaultType
  if (!faultTypes.includes(type)) return undefined
  return {
    seq: Number(match[1]),
    fault: {
      type,
      at: match[3] as FaultPlan['at'],
      attempts: match[4] as FaultPlan['attempts'],
      afterChunks: Number(match[5]),
    },
  }
}
