// The Node/V8 flags AnyGate runs with: `npm start` and the container's CMD pass them, and the bench
// forks its gateways with them, so what is measured is what is deployed (test/node-flags.test.ts
// keeps the three in step).
import { setFlagsFromString } from 'node:v8'

// --max-semi-space-size=8: V8's young generation may grow to 2 x 16 MB on a 64-bit machine, and
// start-up (module loading, schema compilation) already grows it that far, where it stays until the
// process has been idle for a while. 2 x 8 MB takes ~16 MB off a gateway's resident memory; a call
// leaves ~35 KB of short-lived garbage, so a scavenge still comes only every ~230 calls, and at 32
// connections the CPU per call did not change measurably (bench A/B, three processes per setting;
// at 4 MB it rose ~13%). It sizes the heap, which a running process can no longer change.
const semiSpace = '--max-semi-space-size=8'

// --no-allocation-site-pretenuring: V8 watches how many objects from each object or array literal
// survive a scavenge and, past a threshold, allocates that literal's objects straight in the old
// generation. On a gateway that decision is a coin flip early in the process's life (32 calls in
// flight hold their objects across the first scavenges), and once taken it does not come back: each
// pretenured per-call object, dead a few ms later but only freed by a full GC, keeps the young
// objects it points at alive through every scavenge until they are promoted too, with the rest of
// the call. Measured at 32 connections (in-process gateway, --trace-gc-nvp): in about half of the
// processes ~4.8 KB promoted and 22-32 µs of scavenging per call, against 150-250 B and 5-8 µs
// with pretenuring off (0 of 14 processes in the bad state). That difference, 15-25 µs on a call
// of ~170 µs, is about the ±12% by which identical gateway processes differed in bench A/Bs.
const noPretenuring = '--no-allocation-site-pretenuring'

export const gatewayNodeFlags: readonly string[] = [semiSpace, noPretenuring]

/**
 * For a gateway started as `node dist/server.js`, without the flags above: pretenuring can still be
 * turned off once running (V8 reads the flag at each scavenge's pretenuring decision); the heap
 * size cannot. Called by server.ts only: an application embedding buildApp keeps its own V8 flags.
 */
export function applyRuntimeNodeFlags(): void {
  setFlagsFromString(noPretenuring)
}
