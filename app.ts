// buildApp(config) assembles the gateway from plugins and never listens: server.ts does, and tests
// call buildApp directly. The registration order below is the request pipeline, read top to bottom.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import type { LoggerOptions } from 'pino'
import type { LoadedConfig } from './config/load.js'
import { readHttpsFiles } from './config/tls.js'
import authPlugin from './plugins/auth.js'
import cachePlugin from './plugins/cache/index.js'
import { clientErrorHandler } from './plugins/client-errors.js'
import { registerCors } from './plugins/cors.js'
import docsPlugin from './plugins/docs.js'
import errorHandler from './plugins/error-handler.js'
import lifecyclePlugin from './plugins/lifecycle.js'
import limitsPlugin from './plugins/limits/index.js'
import tokenLimitsPlugin from './plugins/limits/token-limits.js'
import metricsPlugin from './plugins/metrics/index.js'
import requestLog, { redactPaths, requestIdFor } from './plugins/request-log.js'
import type { RouterClock } from './plugins/router/index.js'
import runtimePlugin, { type ReloadSource } from './plugins/runtime/index.js'
import { splitLargeSchemas } from './plugins/schema-split.js'
import spendPlugin, { type SpendPluginOptions } from './plugins/spend/index.js'
import storePlugin from './plugins/store/index.js'
import { useStrictJsonParser } from './plugins/strict-json.js'
import usageLogPlugin from './plugins/usage-log/index.js'
import { adminCacheRoutes } from './routes/admin/cache.js'
import { adminConfigRoutes } from './routes/admin/config.js'
import { adminRoutes } from './routes/admin/index.js'
import { adminKeyRoutes } from './routes/admin/keys.js'
import { adminProviderRoutes } from './routes/admin/providers.js'
import { adminReloadRoutes } from './routes/admin/reload.js'
import { adminSpendRoutes } from './routes/admin/spend.js'
import { chatCompletionRoutes } from './routes/chat-completions.js'
import { embeddingRoutes } from './routes/embeddings.js'
import { healthRoutes } from './routes/health.js'
import { messageRoutes } from './routes/messages/index.js'
import { modelRoutes } from './routes/models.js'
import uiRoutes from './routes/ui.js'

export type { LoadedConfig } from './config/load.js'
export type { CallContext, Capabilities, ProviderAdapter } from './providers/contract.js'

export interface BuildOptions {
  /** A logger to use, or pino options; defaults to pino at the config's log level. */
  logger?: FastifyBaseLogger | LoggerOptions | false
  /** Clock and randomness for the router, so tests drive breakers and strategies without waiting. */
  router?: RouterClock
  /** Wall clock for spend days and budget periods, and shorter background retries, for tests. */
  spend?: Pick<SpendPluginOptions, 'now' | 'retryDelaysMs' | 'alertRetryDelaysMs'>
  /** The config file, so POST /admin/reload, SIGHUP and `watch: true` can read it again. */
  reload?: ReloadSource
}

/** Ajv's options for every request schema (test/schema-split.test.ts compiles with them too). */
export const validationOptions = {
  // A gateway forwards what it validated: no type coercion, no injected defaults, nothing removed.
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  discriminator: true,
  // parentSchema in errors lets validation-message.ts list the allowed values.
  verbose: true,
  allErrors: false,
  // Referenced schemas compile to functions of their own: see plugins/schema-split.ts.
  inlineRefs: false,
} as const

/** Fastify's typings lack the hop-count form proxy-addr supports, so a count becomes its function. */
function trustProxyOption(setting: boolean | number | string[]) {
  return typeof setting === 'number' ? (_address: string, hop: number) => hop < setting : setting
}

function loggerFor(config: LoadedConfig, options: BuildOptions) {
  if (options.logger === false) return { logger: false as const }
  if (options.logger && 'child' in options.logger) return { loggerInstance: options.logger }
  return {
    logger: {
      level: config.server.log_level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      ...options.logger,
    },
  }
}

export async function buildApp(config: LoadedConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const https = readHttpsFiles(config) // server.tls: serve HTTPS without a terminating proxy
  const app = Fastify({
    ...loggerFor(config, options),
    // Node applies the header size limit per server: on the https options when TLS is on.
    ...(https
      ? { https: { ...https, maxHeaderSize: config.server.max_header_bytes } }
      : { http: { maxHeaderSize: config.server.max_header_bytes } }),
    clientErrorHandler: clientErrorHandler(config.server.max_header_bytes),
    bodyLimit: config.server.body_limit_bytes,
    trustProxy: trustProxyOption(config.server.trust_proxy),
    genReqId: requestIdFor,
    // Fastify's two lines per request give way to plugins/request-log.ts's one.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // Draining answers in the OpenAI error shape (plugins/lifecycle.ts), not Fastify's own 503.
    return503OnClosing: false,
    ajv: {
      customOptions: validationOptions,
      plugins: [splitLargeSchemas],
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  // Response schemas document the API; replies are serialized as-is so fields an upstream adds
  // (reasoning_content, provider extensions) reach the client instead of being stripped.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data))
  // Every body this API takes is JSON; a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain')
  useStrictJsonParser(app)

  // Tracing first, so its server span wraps every other hook; loaded only when on.
  if (config.telemetry.otlp_endpoint)
    await app.register((await import('./plugins/tracing/index.js')).default, {
      settings: { ...config.telemetry, otlp_endpoint: config.telemetry.otlp_endpoint },
      config,
    })
  await app.register(errorHandler, { bodyLimit: config.server.body_limit_bytes })
  await app.register(requestLog)
  await app.register(lifecyclePlugin)
  if (config.server.cors_origins.length > 0) await registerCors(app, config.server.cors_origins)
  await app.register(storePlugin, { settings: config.store }) // shared state: breakers, later keys and limits
  await app.register(authPlugin, { settings: config.auth }) // principal, then model access (preHandler)
  // The per-call pipeline, in hook order (each plugin acts on routes with config.inference):
  await app.register(limitsPlugin, { config, now: options.router?.now }) // (limits: model access, request rate and max_parallel)
  await app.register(cachePlugin, { settings: config.cache, models: config.models }) // (cache: a hit answers here and skips everything below)
  await app.register(spendPlugin, { ...options.spend, config }) // (spend: pricing, budget reservation before the call, spend record after it)
  await app.register(tokenLimitsPlugin, { config, now: options.router?.now }) // (token limits: TPM reservation before the call, settled with the reported usage)
  if (config.metrics.enabled)
    await app.register(metricsPlugin, { settings: config.metrics, models: config.models }) // (metrics: registered after spend so costs are known when it counts)
  await app.register(usageLogPlugin, { config, now: options.spend?.now }) // (usage log: one JSON line per call, after spend so its cost is known)
  await app.register(docsPlugin)
  // Providers, model catalog and router: one runtime, built again and swapped whole on a reload.
  await app.register(runtimePlugin, { ...options.router, config, reload: options.reload })
  await app.register(healthRoutes, { unreadyWhenDegraded: config.server.unready_when_degraded })
  await app.register(chatCompletionRoutes, { prefix: '/v1' })
  await app.register(embeddingRoutes, { prefix: '/v1' })
  await app.register(messageRoutes, { prefix: '/v1' })
  await app.register(modelRoutes, { prefix: '/v1' })
  // (admin routes: keys, spend, cache, under /admin with the master key)
  await app.register(adminRoutes(adminKeyRoutes), { prefix: '/admin' })
  await app.register(adminRoutes(adminSpendRoutes), { prefix: '/admin' })
  await app.register(adminRoutes(adminCacheRoutes), { prefix: '/admin' })
  await app.register(uiRoutes, { metrics: config.metrics }) // dashboard: GET /ui, its data fetched with the master key
  await app.register(adminRoutes(adminConfigRoutes), { prefix: '/admin' })
  await app.register(adminRoutes(adminReloadRoutes), { prefix: '/admin' })
  await app.register(adminRoutes(adminProviderRoutes), { prefix: '/admin' })
  return app
}
