// app.runtime: the current runtime, the swap, and the drain of the previous ones.
//
// A call takes the runtime that is current when its routing starts and keeps it to its end: the
// router, catalog and adapters it uses all come from that one object, so a swap in the middle
// changes nothing for it. Each runtime counts the calls holding it; once swapped out it closes when
// the count reaches 0, or after server.shutdown_timeout_ms, when the calls still on it are cut.
// Reloads and provider switches run one at a time, in the order they were asked for.
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError, type LoadedConfig } from '../../config/load.js'
import { ClientAbortError } from '../gateway-error.js'
import { LinkedAbort } from '../router/linked-abort.js'
import type { BaseCallContext, Routed, RouteRequest } from '../router/router.js'
import { applyReload, type ConfigChanges, summarizeChanges, withProviderEnabled } from './config-diff.js'
import {
  configRefused,
  cutByReload,
  reloadUnavailable,
  runtimeBuildFailed,
  unknownProvider,
} from './errors.js'
import type { Runtime } from './runtime.js'
import type { ProviderOverride, ProviderToggles } from './toggles.js'

export type ReloadTrigger = 'api' | 'signal' | 'watch'

/** Where the config came from, to read it again. Absent for an app built from an in-memory config. */
export interface ReloadSource {
  path: string
  /** Reads and validates the file again; throws ConfigError. The CLI applies its flags here too. */
  load(): LoadedConfig
  /** With `watch: true`: quiet time after a change before the file is read (250 ms). */
  watchDebounceMs?: number
}

export interface ReloadResult {
  generation: number
  changes: ConfigChanges
  /** Changed paths that keep their running value until a restart. */
  restartRequired: string[]
}

export type SwapListener = (next: Runtime, previous: Runtime) => void

export interface RuntimeHolderOptions {
  initial: Runtime
  build(config: LoadedConfig, generation: number): Promise<Runtime>
  toggles: ProviderToggles
  source?: ReloadSource
  log: FastifyBaseLogger
  /** How long a swapped-out runtime may wait for its calls before they are cut. */
  drainMs: number
  /** Paths the generic rule cannot see: a setting whose effect was decided at startup. */
  extraRestartChecks?: (running: LoadedConfig, loaded: LoadedConfig) => string[]
}

interface Draining {
  /** Closes the runtime once (later calls get the same promise); forced cuts its calls first. */
  close(forced: boolean): Promise<void>
}

/**
 * Passes the stream on and releases its hold however it ends; a drain's cut reads as a 503. A plain
 * iterator rather than an async generator, which cost a few promises and microtasks per chunk. Its
 * reader (the route's encoder, through `for await`) never calls next() concurrently.
 */
class Holding<T> implements AsyncIterableIterator<T> {
  #source: AsyncIterator<T> | undefined
  #released = false
  readonly #iterable: AsyncIterable<T>
  readonly #release: () => void
  readonly #cutError: (err: unknown) => unknown

  constructor(source: AsyncIterable<T>, release: () => void, cutError: (err: unknown) => unknown) {
    this.#iterable = source
    this.#release = release
    this.#cutError = cutError
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#released) return Promise.resolve({ done: true, value: undefined })
    this.#source ??= this.#iterable[Symbol.asyncIterator]()
    return this.#source.next().then(
      (result) => {
        if (result.done) this.#end()
        return result
      },
      (err: unknown) => {
        const cut = this.#cutError(err)
        this.#end()
        throw cut
      },
    )
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    // As a generator's return(): one not started yet does not touch its source.
    const source = this.#source
    if (this.#released || !source) {
      this.#end()
      return { done: true, value: value as T }
    }
    try {
      const result = await source.return?.(value)
      return { done: true, value: (result?.value ?? value) as T }
    } catch (err) {
      throw this.#cutError(err)
    } finally {
      this.#end()
    }
  }

  #end(): void {
    if (this.#released) return
    this.#released = true
    this.#release()
  }
}

/**
 * One call's hold on a runtime, and its signal (not an AbortController and an EventTarget listener:
 * see router/linked-abort.ts). One object per call rather than a signal, a release closure and the
 * pair holding them. It is its own node in the runtime's list of calls (RuntimeCalls).
 */
class HeldCall extends LinkedAbort {
  #released = false
  readonly #calls: RuntimeCalls
  /** Neighbours in RuntimeCalls; null once released. */
  previous: HeldCall | null = null
  next: HeldCall | null = null

  constructor(client: AbortSignal, calls: RuntimeCalls) {
    super(client)
    this.#calls = calls
    calls.add(this)
  }

  release(): void {
    if (this.#released) return
    this.#released = true
    this.unlink()
    this.#calls.remove(this)
    if (this.#calls.size === 0) this.#calls.onEmpty()
  }
}

/**
 * The calls holding one runtime, as a doubly linked list through the calls themselves; `onEmpty`
 * runs when the last one lets go. Not a Set: a Set that lives as long as the runtime keeps
 * reallocating its table as calls come and go, and a dropped table the young-generation GC has
 * already promoted keeps the calls it held alive (with everything they reach) until a full GC: at
 * 32 concurrent calls that promoted hundreds of bytes per request. Unlinking clears both pointers.
 */
class RuntimeCalls {
  size = 0
  #first: HeldCall | null = null

  constructor(readonly onEmpty: () => void) {}

  add(call: HeldCall): void {
    call.next = this.#first
    if (this.#first) this.#first.previous = call
    this.#first = call
    this.size++
  }

  remove(call: HeldCall): void {
    if (call.previous) call.previous.next = call.next
    else if (this.#first === call) this.#first = call.next
    else return
    if (call.next) call.next.previous = call.previous
    call.previous = null
    call.next = null
    this.size--
  }

  /** The calls now, as an array: aborting one releases it, which unlinks it while walking. */
  all(): HeldCall[] {
    const calls: HeldCall[] = []
    for (let call = this.#first; call; call = call.next) calls.push(call)
    return calls
  }
}

export class RuntimeHolder {
  #current: Runtime
  /** The file's config as applied (restart-only sections at their running values). */
  #config: LoadedConfig
  #loadedAt = new Date()
  #started = false
  #closed = false
  #queue: Promise<unknown> = Promise.resolve()
  /** Per runtime, the calls holding it: their signals, so a drain timeout can cut them. */
  readonly #calls = new Map<Runtime, RuntimeCalls>()
  readonly #draining = new Map<Runtime, Draining>()
  readonly #listeners: SwapListener[] = []
  readonly #options: RuntimeHolderOptions

  constructor(options: RuntimeHolderOptions) {
    this.#options = options
    this.#current = options.initial
    this.#config = options.initial.config
  }

  get current(): Runtime {
    return this.#current
  }

  /** The config in effect, as GET /admin/config shows it (before any runtime switch). */
  get config(): LoadedConfig {
    return this.#config
  }

  get loadedAt(): Date {
    return this.#loadedAt
  }

  get source(): ReloadSource | undefined {
    return this.#options.source
  }

  get toggles(): ProviderToggles {
    return this.#options.toggles
  }

  /** Runtimes swapped out whose calls are still running. */
  get draining(): number {
    return this.#draining.size
  }

  /** Calls holding the current runtime, or `runtime`. */
  holds(runtime: Runtime = this.#current): number {
    return this.#calls.get(runtime)?.size ?? 0
  }

  onSwap(listener: SwapListener): void {
    this.#listeners.push(listener)
  }

  /** Once the app is ready: the current runtime's probes start (and every later one's on its swap). */
  start(): void {
    this.#started = true
    this.#current.startProbes()
  }

  /** app.router.route: routes on the current runtime and holds it until the answer is complete. */
  async route<T>(base: BaseCallContext, request: RouteRequest<T>): Promise<Routed<T>> {
    const runtime = this.#current
    const held = this.#hold(runtime, base.signal)
    let routed: Routed<T>
    try {
      routed = await runtime.router.route({ ...base, signal: held.signal }, request)
    } catch (err) {
      held.release()
      throw this.#cutError(held, base.signal, err)
    }
    if (!request.streaming) {
      held.release()
      return routed
    }
    const release = () => held.release()
    // A stream dropped before its first read may never be returned: the client's abort releases it then.
    if (held.aborted) release()
    else held.addEventListener('abort', release)
    const cutError = (err: unknown) => this.#cutError(held, base.signal, err)
    const value = new Holding(routed.value as AsyncIterable<unknown>, release, cutError) as T
    return { ...routed, value }
  }

  /** A drain's cut reads as a 503, not as the client's abort. */
  #cutError(held: HeldCall, client: AbortSignal, err: unknown): unknown {
    return held.aborted && !client.aborted && err instanceof ClientAbortError
      ? cutByReload(this.#options.drainMs)
      : err
  }

  /** Reads the file again and, when it is valid and its providers start, swaps to it. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    return this.#serially(async () => {
      const { source, log } = this.#options
      if (!source) throw reloadUnavailable()
      let loaded: LoadedConfig
      try {
        loaded = source.load()
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [(err as Error).message]
        log.warn(
          { trigger, path: source.path, problems },
          'config reload refused: the running config is kept',
        )
        throw configRefused(source.path, problems)
      }
      const { effective, restartRequired } = applyReload(this.#config, loaded)
      restartRequired.push(...(this.#options.extraRestartChecks?.(this.#config, loaded) ?? []))
      const changes = summarizeChanges(this.#config, effective)
      const next = await this.#build(effective, source.path, trigger)
      this.#config = effective
      this.#loadedAt = new Date()
      this.toggles.reset(effective)
      this.#swap(next)
      log.info(
        {
          trigger,
          path: source.path,
          generation: next.generation,
          changes,
          restart_required: restartRequired,
        },
        'config reloaded',
      )
      return { generation: next.generation, changes, restartRequired }
    })
  }

  /**
   * An operator's switch, kept until the next reload. Off: the router skips the provider's targets at
   * once. On for a provider the file leaves off: it has no adapter yet, so a runtime that registers
   * it is built and swapped in.
   */
  setProvider(name: string, state: ProviderOverride, actor: string): Promise<void> {
    return this.#serially(async () => {
      const { toggles, log } = this.#options
      if (!toggles.has(name))
        throw unknownProvider(
          name,
          this.#config.providers.map((p) => p.name),
        )
      if (state === 'enabled' && !this.#current.providers.get(name)) {
        const next = await this.#build(
          withProviderEnabled(this.#current.config, name),
          this.#options.source?.path ?? 'config',
          'api',
        )
        this.#swap(next)
      }
      toggles.set(name, state)
      log.info({ provider: name, state, override: toggles.override(name), actor }, 'provider switched')
    })
  }

  /** App close: every runtime closes now (calls still running were drained by the server first). */
  async close(): Promise<void> {
    this.#closed = true
    const closing = [...this.#draining.values()].map((d) => d.close(false))
    await Promise.allSettled([...closing, this.#current.close()])
  }

  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task)
    this.#queue = run.catch(() => {})
    return run
  }

  async #build(config: LoadedConfig, path: string, trigger: ReloadTrigger): Promise<Runtime> {
    try {
      return await this.#options.build(config, this.#current.generation + 1)
    } catch (err) {
      const cause = (err as Error).message
      this.#options.log.warn(
        { trigger, path, err: cause },
        'config reload failed: the running config is kept',
      )
      throw runtimeBuildFailed(path, cause)
    }
  }

  #swap(next: Runtime): void {
    if (this.#closed) {
      // The app closed while this one was being built: nothing will ever close it otherwise.
      void next.close()
      throw new Error('the gateway is shutting down')
    }
    const previous = this.#current
    this.#current = next
    if (this.#started) next.startProbes()
    for (const listener of this.#listeners) {
      try {
        listener(next, previous)
      } catch (err) {
        this.#options.log.error({ err }, 'runtime swap listener failed')
      }
    }
    this.#retire(previous)
  }

  /**
   * Counts a call on `runtime` and gives it a signal of its own: aborted with the client's, or by a
   * drain timeout. Not AbortSignal.any: its dependents of a long-lived source are not reclaimed on
   * every Node 20 release, and a runtime lives for days.
   */
  #hold(runtime: Runtime, client: AbortSignal): HeldCall {
    let calls = this.#calls.get(runtime)
    if (!calls) {
      // Kept while empty (the runtime's close removes it): made again each time the calls drop to
      // none, it cost an object, a closure and a map entry per call on a quiet gateway.
      calls = new RuntimeCalls(() => void this.#draining.get(runtime)?.close(false))
      this.#calls.set(runtime, calls)
    }
    return new HeldCall(client, calls)
  }

  #retire(runtime: Runtime): void {
    void runtime.stopProbes()
    const { log, drainMs } = this.#options
    const started = Date.now()
    let closing: Promise<void> | undefined
    // Started a microtask later, so the releases a forced cut triggers find `closing` already set.
    const close = (forced: boolean) => {
      closing ??= Promise.resolve().then(async () => {
        clearTimeout(timer)
        const calls = this.#calls.get(runtime)?.all() ?? []
        const cut = calls.length
        if (forced) for (const call of calls) call.abort()
        try {
          await runtime.close()
        } catch (err) {
          log.warn({ err, generation: runtime.generation }, 'closing the previous runtime failed')
        }
        this.#draining.delete(runtime)
        this.#calls.delete(runtime)
        const fields = { generation: runtime.generation, drained_ms: Date.now() - started, forced }
        if (forced) log.warn({ ...fields, calls_cut: cut }, 'previous runtime closed at the drain timeout')
        else log.info(fields, 'previous runtime closed')
      })
      return closing
    }
    const timer = setTimeout(() => void close(true), drainMs)
    timer.unref()
    this.#draining.set(runtime, { close })
    if (this.holds(runtime) === 0 || this.#closed) void close(false)
  }
}
