// GET /admin/config: the config in effect, with every secret redacted (plugins/runtime/redact.ts).
// Registered under /admin with the master key.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { redactConfig } from '../../plugins/runtime/redact.js'
import { EffectiveConfig } from '../../schemas/admin/config.js'
import { ErrorResponse } from '../../schemas/openai/errors.js'

export const adminConfigRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/config',
    {
      config: { auth: 'master' },
      schema: {
        tags: ['Admin'],
        operationId: 'getConfig',
        summary: 'The effective config, secrets redacted',
        description:
          'What the gateway runs with: the file as last loaded or reloaded, defaults applied. Sections ' +
          'a reload cannot change show their running value. Runtime provider switches are in GET /admin/providers.',
        response: { 200: EffectiveConfig, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async () => {
      const holder = app.runtime
      const { baseDir: _baseDir, ...config } = holder.config
      return {
        object: 'config' as const,
        path: holder.source?.path ?? null,
        loaded_at: holder.loadedAt.toISOString(),
        generation: holder.current.generation,
        config: redactConfig(config) as Record<string, unknown>,
      }
    },
  )
}
