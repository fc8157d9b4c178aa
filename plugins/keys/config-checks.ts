// Checks of the auth section that a schema can't express, as dotted-path problems in the config
// loader's format. The auth plugin refuses to start on any; config/load.ts may list them with the rest.
import type { AuthSettings } from './config-schema.js'

export function findAuthProblems(auth: Pick<AuthSettings, 'master_key' | 'keys'>): string[] {
  const problems: string[] = []
  const names = new Set<string>()
  const secrets = new Set<string>()
  auth.keys.forEach((key, i) => {
    if (names.has(key.name)) problems.push(`auth.keys[${i}].name: "${key.name}" is declared twice`)
    if (secrets.has(key.key)) problems.push(`auth.keys[${i}].key: the same key is declared twice`)
    if (auth.master_key && key.key === auth.master_key) {
      problems.push(`auth.keys[${i}].key: equals auth.master_key; give each key its own secret`)
    }
    names.add(key.name)
    secrets.add(key.key)
  })
  return problems
}
