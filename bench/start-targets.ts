// Forks a server for each target a run needs, beside the fake upstream it already started.
import { randomBytes } from 'node:crypto'
import { secretEnvNames } from './anygate-target.js'
import type { AnyGateVariant, RedisPlace, VariantSecrets } from './anygate-variants.js'
import type { ServerSpec } from './child-protocol.js'
import { type ChildServer, forkServer } from './child-server.js'
import type { LoadRequest } from './http-load.js'
import { findPortkey, portkeyRequest, startPortkey } from './portkey.js'
import type { BenchTargetName } from './report.js'
import type { Targets } from './rounds.js'

export interface TargetContext {
  upstream: ChildServer
  secrets: VariantSecrets
  /** Present when a target runs on Redis. */
  redis?: RedisPlace
}

/** Fresh keys per run: nothing outside this run's processes ever knows them. */
export function newSecrets(): VariantSecrets {
  return {
    masterKey: `bench-master-${randomBytes(16).toString('hex')}`,
    clientKey: `bench-client-${randomBytes(16).toString('hex')}`,
  }
}

type ServedTarget = Exclude<BenchTargetName, 'direct' | 'portkey'>
type FloorTarget = 'floor' | 'floor-wide'

/** Enough upstream sockets for the idle-streams scenario's 1,000 streams at once. */
export const wideConnections = 1024

const variantOf: Record<
  Exclude<ServedTarget, FloorTarget>,
  { variant: AnyGateVariant; targets?: number; upstreamConnections?: number }
> = {
  anygate: { variant: 'default' },
  'anygate-3': { variant: 'default', targets: 3 },
  'anygate-bare': { variant: 'bare' },
  'anygate-stack-memory': { variant: 'stack-memory' },
  'anygate-stack-redis': { variant: 'stack-redis' },
  'anygate-cache': { variant: 'cache' },
  'anygate-stack-redis-3': { variant: 'stack-redis', targets: 3 },
  'anygate-wide': { variant: 'default', upstreamConnections: wideConnections },
}

const isFloor = (name: ServedTarget): name is FloorTarget => name === 'floor' || name === 'floor-wide'

const isStack = (variant: AnyGateVariant) => variant === 'stack-memory' || variant === 'stack-redis'

function specFor(name: ServedTarget, context: TargetContext): ServerSpec {
  const upstreamOrigin = context.upstream.origin
  if (name === 'floor') return { kind: 'floor', options: { upstreamOrigin } }
  if (name === 'floor-wide')
    return { kind: 'floor', options: { upstreamOrigin, connections: wideConnections } }
  const { variant, targets, upstreamConnections } = variantOf[name]
  const redis = variant === 'stack-redis' ? context.redis : undefined
  if (variant === 'stack-redis' && !redis) throw new Error(`${name} needs Redis, and the run has none`)
  return { kind: 'anygate', options: { upstreamOrigin, variant, targets, redis, upstreamConnections } }
}

function requestFor(name: ServedTarget, context: TargetContext): LoadRequest | undefined {
  if (isFloor(name) || !isStack(variantOf[name].variant)) return undefined
  return { headers: { authorization: `Bearer ${context.secrets.clientKey}` } }
}

/** Starts the named targets in parallel; `direct` is the upstream itself. */
export async function startTargets(
  names: readonly BenchTargetName[],
  context: TargetContext,
): Promise<{ targets: Targets; servers: ChildServer[] }> {
  const secretEnv = {
    [secretEnvNames.masterKey]: context.secrets.masterKey,
    [secretEnvNames.clientKey]: context.secrets.clientKey,
  }
  const served = names.filter((name): name is ServedTarget => name !== 'direct' && name !== 'portkey')
  const settled = await Promise.allSettled(
    // async: a spec that cannot be built rejects like a failed start, and the rest still get stopped.
    served.map(async (name) => {
      const spec = specFor(name, context)
      return forkServer(
        spec,
        spec.kind === 'anygate' && isStack(spec.options.variant ?? 'default') ? secretEnv : {},
      )
    }),
  )
  const servers = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected')
  if (failure) {
    // The ones that did start must not outlive the run.
    await Promise.all(servers.map((server) => server.stop()))
    throw failure.reason
  }
  const targets: Targets = {}
  // Portkey is not a dependency: measured when installed, left out (and said so) otherwise.
  const portkeyScript = names.includes('portkey') ? findPortkey() : undefined
  if (portkeyScript) {
    try {
      const server = await startPortkey(portkeyScript)
      servers.push(server)
      targets.portkey = { origin: server.origin, server, request: portkeyRequest(context.upstream.origin) }
    } catch (err) {
      await Promise.all(servers.map((server) => server.stop()))
      throw err
    }
  }
  if (names.includes('direct')) targets.direct = { origin: context.upstream.origin, server: context.upstream }
  served.forEach((name, i) => {
    const server = servers[i]!
    targets[name] = { origin: server.origin, server, request: requestFor(name, context) }
  })
  return { targets, servers }
}
