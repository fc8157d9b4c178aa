// POST /admin/reload: read the config file again and, when it is valid, serve new calls with it
// (plugins/runtime/holder.ts). An invalid file is a 422 listing every problem; the running config
// is kept. Registered under /admin with the master key.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ReloadResult } from '../../schemas/admin/reload.js'
import { ErrorResponse } from '../../schemas/openai/errors.js'

export const adminReloadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/reload',
    {
      config: { auth: 'master' },
      schema: {
        tags: ['Admin'],
        operationId: 'reloadConfig',
        summary: 'Reloads the config file',
        description:
          'Validates the file again; if it is valid, builds its providers, models and routing and swaps them ' +
          'in at once. Calls and streams in flight finish on the previous config, whose upstream ' +
          'connections close after them. Settings only a restart applies are listed in `restart_required`. ' +
          'Runtime provider switches are cleared. Same as SIGHUP.',
        response: {
          200: ReloadResult,
          401: ErrorResponse,
          403: ErrorResponse,
          409: ErrorResponse,
          422: ErrorResponse,
        },
      },
    },
    async () => {
      const result = await app.runtime.reload('api')
      return {
        reloaded: true as const,
        generation: result.generation,
        changes: result.changes,
        restart_required: result.restartRequired,
      }
    },
  )
}
