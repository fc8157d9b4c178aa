// POST /admin/reload: what a reload changed, and what it could not.
import { type Static, Type } from '@sinclair/typebox'

const Names = (description: string) => Type.Array(Type.String(), { description })

const NamedChanges = Type.Object({
  added: Names('in the new file only'),
  removed: Names('in the old file only'),
  changed: Names('in both, with any field different'),
})

export const ReloadResult = Type.Object(
  {
    reloaded: Type.Literal(true),
    generation: Type.Integer({ minimum: 2, description: 'the runtime now serving new calls' }),
    changes: Type.Object({
      providers: NamedChanges,
      models: NamedChanges,
      settings: Names('changed paths under routing, pricing and watch'),
    }),
    restart_required: Names(
      'changed paths a reload does not apply (server, store, auth, cache, limits, spend, budgets, ' +
        'metrics...): they keep their running value until the gateway restarts',
    ),
  },
  {
    description:
      'The new config serves every call that starts from now; calls in flight finish on the old one.',
  },
)
export type ReloadResult = Static<typeof ReloadResult>
