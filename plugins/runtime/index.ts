// The runtime plugin: providers, model catalog and router as one swappable unit (runtime.ts), held by
// app.runtime (holder.ts). The app-wide decorators the routes and plugins already use read the current
// runtime: app.providers, app.models and app.routerState are getters, app.router routes each call on
// the runtime current when it starts. What must outlive a reload is made here once: the routing state
// (breaker records, in-flight and latency, rpm windows, cursors, observers). The state store, keys,
// spend, limits, the response cache and the metrics registry belong to their own plugins and are
// never rebuilt.
//
// Reloads come from POST /admin/reload, SIGHUP (server.ts) and, with `watch: true`, the file itself.
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { LoadedConfig } from '../../config/load.js'
import { CachePolicies } from '../cache/policy.js'
import { createPriceTable } from '../pricing/index.js'
import { createRouterShared, type RouterClock } from '../router/index.js'
import { prefetchBreakerViews } from '../router/prefetch.js'
import { type ReloadSource, type ReloadTrigger, RuntimeHolder } from './holder.js'
import { buildRuntime } from './runtime.js'
import { ProviderToggles } from './toggles.js'
import { type ConfigWatcher, watchConfigFile } from './watch.js'

export type { ReloadResult, ReloadSource, ReloadTrigger } from './holder.js'
export type { Runtime } from './runtime.js'

declare module 'fastify' {
  interface FastifyInstance {
    runtime: RuntimeHolder
  }
}

export interface RuntimePluginOptions extends RouterClock {
  config: LoadedConfig
  /** The config file and how to read it again; without it POST /admin/reload answers 409. */
  reload?: ReloadSource
}

const wantsWatch = (config: LoadedConfig) => config.watch

/**
 * The cache plugin adds its hooks at startup only when some model is cached: a reload that caches a
 * model (under the running `cache:` section, itself restart-only) cannot start it.
 */
function cacheRestartChecks(app: FastifyInstance) {
  return (running: LoadedConfig, loaded: LoadedConfig): string[] => {
    const cacheOff = !app.hasDecorator('responseCache') || app.responseCache === null
    return cacheOff && new CachePolicies(running.cache, loaded.models).anyEnabled ? ['models[].cache'] : []
  }
}

export default fp(
  async (app, opts: RuntimePluginOptions) => {
    const shared = createRouterShared(app.stateStore, app.log, opts)
    const toggles = new ProviderToggles(opts.config)
    let initial = true
    const build = (config: LoadedConfig, generation: number) =>
      buildRuntime(config, generation, {
        shared,
        log: app.log,
        // The spend plugin loaded the startup table already; a reload reads the pricing file again.
        pricingFor: (c) =>
          initial && app.hasDecorator('pricing')
            ? app.pricing
            : createPriceTable({ settings: c.pricing, baseDir: c.baseDir, providers: c.providers }),
        isProviderDisabled: toggles.isDisabled,
      })
    const first = await build(opts.config, 1)
    initial = false
    const holder = new RuntimeHolder({
      initial: first,
      build,
      toggles,
      source: opts.reload,
      log: app.log.child({ component: 'runtime' }),
      drainMs: opts.config.server.shutdown_timeout_ms,
      extraRestartChecks: cacheRestartChecks(app),
    })

    app.decorate('runtime', holder)
    app.decorate('providers', { getter: () => holder.current.providers })
    app.decorate('models', { getter: () => holder.current.models })
    app.decorate('routerState', { getter: () => holder.current.routerState })
    app.decorate('router', { route: holder.route.bind(holder) })
    prefetchBreakerViews(app)

    // app.pricing stays the table of the running config for anyone who reads it later.
    holder.onSwap((next) => {
      if (app.hasDecorator('pricing')) app.pricing = next.pricing
    })

    let watcher: ConfigWatcher | undefined
    const source = opts.reload
    const reloadOn = (trigger: ReloadTrigger) => () => void holder.reload(trigger).catch(() => {})
    const followWatch = (config: LoadedConfig) => {
      if (!source) return
      if (wantsWatch(config) && !watcher) {
        watcher = watchConfigFile(source.path, reloadOn('watch'), {
          debounceMs: source.watchDebounceMs,
          onError: (err) => app.log.warn({ err: err.message, path: source.path }, 'config watch failed'),
        })
        app.log.info({ path: source.path }, 'watching the config file: a change reloads it')
      } else if (!wantsWatch(config) && watcher) {
        watcher.close()
        watcher = undefined
      }
    }
    holder.onSwap(() => followWatch(holder.config))

    // Probes and the watcher start once the app is ready, not while a test or the CLI merely builds it;
    // they stop before the store's client closes (onClose runs in reverse registration order).
    app.addHook('onReady', async () => {
      holder.start()
      followWatch(holder.config)
    })
    app.addHook('onClose', async () => {
      watcher?.close()
      // Success counts the breaker batches for the store (at most a second's worth) go out first.
      await app.routerState.breaker.flush()
      await holder.close()
    })
  },
  { name: 'anygate-runtime', fastify: '5.x', dependencies: ['anygate-store'] },
)
