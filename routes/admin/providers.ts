// GET /admin/providers: every configured provider, its switches and its targets' live state.
// POST /admin/providers/{name}/enable|disable: a runtime switch, kept until the next reload; the
// router skips a disabled provider's targets (reason provider_disabled). Registered under /admin
// with the master key.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { describeProvider, describeProviders } from '../../plugins/runtime/provider-states.js'
import type { ProviderOverride } from '../../plugins/runtime/toggles.js'
import { ProviderList, ProviderParams, ProviderState } from '../../schemas/admin/providers.js'
import { ErrorResponse } from '../../schemas/openai/errors.js'

const switchReplies = {
  200: ProviderState,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  422: ErrorResponse,
}

export const adminProviderRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/providers',
    {
      config: { auth: 'master' },
      schema: {
        tags: ['Admin'],
        operationId: 'listProviders',
        summary: 'Every configured provider: enabled or not, and the state of its targets',
        response: { 200: ProviderList, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async () => ({ providers: await describeProviders(app.runtime) }),
  )

  const switchTo = (state: ProviderOverride) =>
    app.post(
      `/providers/:name/${state === 'enabled' ? 'enable' : 'disable'}`,
      {
        config: { auth: 'master' },
        schema: {
          tags: ['Admin'],
          operationId: state === 'enabled' ? 'enableProvider' : 'disableProvider',
          summary:
            state === 'enabled'
              ? 'Switches a provider on until the next reload'
              : 'Switches a provider off until the next reload',
          description:
            state === 'enabled'
              ? 'Undoes a disable. A provider the file leaves off (`enabled: false`, or `auto` without a key) is started.'
              : 'New calls skip its targets (skip reason `provider_disabled`) and go to the other targets of ' +
                'their model, or fail with 503 when none is left; calls in flight finish.',
          params: ProviderParams,
          response: switchReplies,
        },
      },
      async (request) => {
        const { name } = request.params
        await app.runtime.setProvider(name, state, request.principal?.id ?? 'anonymous')
        return describeProvider(app.runtime, name)
      },
    )
  switchTo('enabled')
  switchTo('disabled')
}
