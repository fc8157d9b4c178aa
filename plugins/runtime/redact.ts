// The config as GET /admin/config shows it: every secret replaced by "[redacted]". Pure.
//
// Secrets are found by what they are called, not by a list of today's paths, so a section added
// later is covered too: fields named like keys, tokens or passwords; every value of a header map
// whose name looks like a credential (and every value of the maps that carry nothing else:
// alert_headers, telemetry and tracing headers); the user and password of a URL and its key-like
// query parameters; and values shaped like a provider key wherever they are. A last pass replaces any
// secret found anywhere else it was copied to (a key pasted into a base_url path, say).

export const redactedValue = '[redacted]'

/** api_key, master_key, key, client_secret, password, auth_token, credentials... */
const secretField = /(?:^|[_-])(?:api[_-]?key|key|secret|password|passwd|token|credentials?|authorization)$/i
/** Header names that carry credentials: authorization, x-api-key, api-key, cookie, x-auth-token... */
const credentialHeader = /auth|key|token|secret|passw|cookie|session|signature|credential|bearer/i
/** Header maps that exist for credentials: every value is hidden, whatever its name. */
const secretHeaderMap = /(?:^|\.)alert_headers$|telemetry|tracing|otel|otlp|exporter/i
const secretQueryParam = /^(?:key|api[-_]?key|access[-_]?token|token|secret|password|sig|signature|auth)$/i
const keyShaped: readonly RegExp[] = [
  /\b(?:bearer|basic)\s+[^\s"',;]+/gi,
  /\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
]
/** Shorter values are left to the named-field rules: replacing "on" everywhere would help nobody. */
const minSweepLength = 6

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const decoded = (text: string) => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

function hide(value: string, found: Set<string>): string {
  if (value === '') return value
  found.add(value)
  return redactedValue
}

/** A URL's user and password, and key-like query parameters. */
function redactUrl(value: string, found: Set<string>): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(value)
  if (!match) return value
  const [, scheme, userinfo, rest, query, fragment] = match
  if (!userinfo && !query) return value
  if (userinfo && userinfo.length > 1) {
    for (const part of userinfo.slice(0, -1).split(':')) {
      if (part) found.add(decoded(part))
    }
  }
  const params = query
    ?.slice(1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      if (equals < 0 || !secretQueryParam.test(pair.slice(0, equals))) return pair
      const secret = pair.slice(equals + 1)
      if (secret) found.add(decoded(secret))
      return `${pair.slice(0, equals)}=${redactedValue}`
    })
    .join('&')
  return `${scheme}${userinfo ? `${redactedValue}@` : ''}${rest}${params !== undefined ? `?${params}` : ''}${fragment ?? ''}`
}

function redactString(value: string, field: string, found: Set<string>): string {
  if (secretField.test(field)) return hide(value, found)
  let out = redactUrl(value, found)
  for (const pattern of keyShaped) {
    out = out.replace(pattern, (secret) => {
      found.add(secret)
      return redactedValue
    })
  }
  return out
}

function redactHeaders(headers: Record<string, unknown>, path: string, found: Set<string>) {
  const hideAll = secretHeaderMap.test(path)
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] =
      typeof value === 'string' && (hideAll || credentialHeader.test(name))
        ? hide(value, found)
        : walk(value, name, `${path}.${name}`, found)
  }
  return out
}

/** `field` is the last name on the way down (array items keep their array's), `path` the whole way. */
function walk(value: unknown, field: string, path: string, found: Set<string>): unknown {
  if (typeof value === 'string') return redactString(value, field, found)
  if (Array.isArray(value)) return value.map((item) => walk(item, field, path, found))
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key
    out[key] =
      /headers$/i.test(key) && isPlainObject(child)
        ? redactHeaders(child, childPath, found)
        : walk(child, key, childPath, found)
  }
  return out
}

function sweep(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    let out = value
    for (const secret of secrets) if (out.includes(secret)) out = out.replaceAll(secret, redactedValue)
    return out
  }
  if (Array.isArray(value)) return value.map((item) => sweep(item, secrets))
  if (!isPlainObject(value)) return value
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, sweep(child, secrets)]))
}

/** A copy of `config` safe to show to an operator; the original is not touched. */
export function redactConfig<T>(config: T): T {
  const found = new Set<string>()
  const walked = walk(config, '', '', found)
  // Longest first, so a secret that contains another is replaced whole.
  const secrets = [...found].filter((s) => s.length >= minSweepLength).sort((a, b) => b.length - a.length)
  return (secrets.length > 0 ? sweep(walked, secrets) : walked) as T
}
