// undici's types describe its index only; these give the two modules the gateway loads directly
// (upstream-client.ts says why) the types of the same classes as the index exports them.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'

  const PoolClass: typeof Pool
  export default PoolClass
}

declare module 'undici/lib/core/errors.js' {
  import type { errors } from 'undici'

  const undiciErrors: typeof errors
  export default undiciErrors
}
