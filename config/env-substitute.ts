// `${VAR}` and `${VAR:-default}` inside YAML string values. Substituting after parsing (not in the raw
// text) means a secret containing `#`, `: ` or quotes can never change the shape of the document.
const reference = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export type Env = Record<string, string | undefined>

export function substituteEnvInString(value: string, env: Env): string {
  return value.replace(reference, (_match, name: string, fallback: string | undefined) => {
    const set = env[name]
    if (set !== undefined && set !== '') return set
    return fallback ?? ''
  })
}

/** Returns a copy of `node` with every string value substituted; keys are left as written. */
export function substituteEnv(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return substituteEnvInString(node, env)
  if (Array.isArray(node)) return node.map((item) => substituteEnv(item, env))
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node)) out[key] = substituteEnv(value, env)
    return out
  }
  return node
}
