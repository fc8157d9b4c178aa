// The Node/V8 flags AnyGate runs with: `npm start` and the container's CMD pass them, and the bench
// forks its gateways with them, so what is measured is what is deployed (test/node-flags.test.ts
// keeps the three in step). They size the heap, which a running process can no longer change.
//
// --max-semi-space-size=8: V8's young generation may grow to 2 x 16 MB on a 64-bit machine, and
// start-up (module loading, schema compilation) already grows it that far, where it stays until the
// process has been idle for a while. 2 x 8 MB takes ~16 MB off a gateway's resident memory; a call
// leaves ~35 KB of short-lived garbage, so a scavenge still comes only every ~230 calls, and at 32
// connections the CPU per call did not change measurably (bench A/B, three processes per setting;
// at 4 MB it rose ~13%).
export const gatewayNodeFlags: readonly string[] = ['--max-semi-space-size=8']
