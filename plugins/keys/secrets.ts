// Virtual-key secrets: generated here, stored only as a hash, shown once.
import { createHash, randomBytes } from 'node:crypto'

export const secretPrefix = 'sk-ag-'

/** `sk-ag-` + 43 url-safe characters: 256 random bits. */
export function generateSecret(): string {
  return secretPrefix + randomBytes(32).toString('base64url')
}

/**
 * One unsalted SHA-256, not a password hash (scrypt, argon2): the generated secrets carry 256 random
 * bits, so there is nothing to brute-force, and a fast hash is what lets every request be looked
 * up by it without adding latency. Config keys must be 20+ characters for the same reason.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export const keyHint = (secret: string) => secret.slice(-4)

/** Ids appear in admin URLs and in limit and spend records; they carry no secret. */
export const newKeyId = () => `key_${randomBytes(12).toString('base64url')}`

/** Stable across restarts and replicas, so limits and spend stay attached to a config key. */
export const configKeyId = (name: string) => `cfg-${name}`
