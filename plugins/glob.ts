// `gpt-4o*`-style patterns for model names. Only `*` and `?` are special, which is all a model list
// needs; a glob library would bring path semantics (`/` boundaries) that model ids must not have.
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.')
  return new RegExp(`^${body}$`)
}

export const isGlob = (pattern: string) => pattern.includes('*') || pattern.includes('?')
