// GET /admin/spend: spend per model, key or day over a range of UTC days, from the spend store.
// Registered under /admin with the master key (app.ts, through routes/admin/index.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { GatewayError, invalidRequest } from '../../plugins/gateway-error.js'
import { daysBetween, parseUtcDay, utcDay } from '../../plugins/spend/periods.js'
import { groupSpend } from '../../plugins/spend/report.js'
import { type SpendReport as Report, SpendQuery, SpendReport } from '../../schemas/admin/spend.js'
import { ErrorResponse } from '../../schemas/openai/errors.js'

/** A year and a leap day: one read per day, so the range is bounded. */
export const maxReportDays = 366

function dayParam(value: string, param: 'from' | 'to'): number {
  const ms = parseUtcDay(value)
  if (ms === undefined)
    throw invalidRequest(
      `\`${param}\` is not a date: ${value}. Use YYYY-MM-DD (UTC).`,
      param,
      'invalid_value',
    )
  return ms
}

export const adminSpendRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/spend',
    {
      config: { auth: 'master' },
      schema: {
        tags: ['Admin'],
        operationId: 'getSpend',
        summary: 'Reports spend (requests, tokens, cost) per model, key or day over a range of UTC days',
        querystring: SpendQuery,
        response: {
          200: SpendReport,
          400: ErrorResponse,
          401: ErrorResponse,
          403: ErrorResponse,
          503: ErrorResponse,
        },
      },
    },
    async (request): Promise<Report> => {
      const query = request.query
      const groupBy = query.group_by ?? 'model'
      const toMs = query.to === undefined ? dayParam(utcDay(app.spend.now()), 'to') : dayParam(query.to, 'to')
      const to = utcDay(toMs)
      const fromMs =
        query.from === undefined ? dayParam(`${to.slice(0, 8)}01`, 'from') : dayParam(query.from, 'from')
      if (fromMs > toMs)
        throw invalidRequest(`\`from\` (${query.from}) is after \`to\` (${to}).`, 'from', 'invalid_value')
      const days = daysBetween(fromMs, toMs)
      if (days.length > maxReportDays) {
        throw invalidRequest(
          `The range covers ${days.length} days; ask for ${maxReportDays} days at most per request.`,
          'from',
          'invalid_value',
        )
      }
      let rows: Awaited<ReturnType<typeof app.spend.store.query>>
      let names = new Map<string, string>()
      try {
        rows = await app.spend.store.query({ days, keyId: query.key, model: query.model })
        if (groupBy === 'key')
          names = await app.spend.store.keyNames([...new Set(rows.map((row) => row.keyId))])
      } catch (err) {
        request.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'spend store unavailable')
        throw new GatewayError(
          503,
          'The spend store is unavailable; try again shortly.',
          'service_unavailable',
          'store_unavailable',
        )
      }
      const { groups, total } = groupSpend(rows, groupBy)
      return {
        object: 'spend.report',
        from: days[0]!,
        to,
        group_by: groupBy,
        currency: 'USD',
        data:
          groupBy === 'key'
            ? groups.map((group) => {
                const name = names.get(group.group)
                return name === undefined ? group : { ...group, key_name: name }
              })
            : groups,
        total,
      }
    },
  )
}
