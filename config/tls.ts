// server.tls: the certificate and key, read once at startup (paths relative to the config file, like
// every path in it) and checked as a pair, so a bad file is a config error naming the field rather
// than a TLS stack trace from deep inside Fastify.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { createSecureContext } from 'node:tls'
import { ConfigError, type LoadedConfig } from './load.js'

export interface HttpsFiles {
  cert: Buffer
  key: Buffer
}

/** Fastify's `https` option for server.tls; undefined when the gateway serves plain HTTP. */
export function readHttpsFiles(config: Pick<LoadedConfig, 'server' | 'baseDir'>): HttpsFiles | undefined {
  const tls = config.server.tls
  if (!tls) return undefined
  const read = (field: 'cert_file' | 'key_file'): Buffer => {
    const path = resolve(config.baseDir, tls[field])
    try {
      return readFileSync(path)
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      throw new ConfigError([`server.tls.${field}: cannot read ${path} (${reason})`])
    }
  }
  const files = { cert: read('cert_file'), key: read('key_file') }
  try {
    createSecureContext(files)
  } catch (err) {
    throw new ConfigError([
      `server.tls: ${tls.cert_file} and ${tls.key_file} must be a PEM certificate and its private key (${(err as Error).message})`,
    ])
  }
  return files
}
