// An app built from a config file on disk, as the CLI builds it, so tests can rewrite the file and
// reload it (POST /admin/reload, the watcher) and read what the gateway logged.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { expect } from 'vitest'
import { buildApp } from '../app.js'
import { type LoadedConfig, loadConfigFile } from '../config/load.js'
import { captureLogs } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'

export const master = 'sk-master-reload-0123456789abcdef'
export const bearer = { authorization: `Bearer ${master}` }

export interface FileApp {
  app: FastifyInstance
  path: string
  logs: Record<string, unknown>[]
  rawLogs: string[]
  /** Replaces the file's content (JSON is YAML) the way editors do: a new file renamed over it. */
  write(raw: unknown): void
  reload(): Promise<LightMyRequestResponse>
  admin(method: 'GET' | 'POST', url: string): Promise<LightMyRequestResponse>
}

export function writeConfigFile(path: string, raw: unknown): void {
  const temporary = `${path}.tmp-${process.pid}`
  writeFileSync(temporary, typeof raw === 'string' ? raw : JSON.stringify(raw, null, 2))
  renameSync(temporary, path)
}

/** `auth.master_key` is set to `master` unless the config sets its own auth. */
export function withMaster(raw: Record<string, unknown>): Record<string, unknown> {
  return { auth: { master_key: master }, ...raw }
}

export interface FileAppOptions {
  /** Turns on the file watcher (what `watch: true` does) with this debounce. */
  watchDebounceMs?: number
  router?: { now?: () => number; rng?: () => number }
}

export async function buildFileApp(
  raw: Record<string, unknown>,
  options: FileAppOptions = {},
): Promise<FileApp> {
  const path = join(mkdtempSync(join(tmpdir(), 'anygate-reload-')), 'anygate.yaml')
  writeConfigFile(path, raw)
  const { logger, logs, rawLogs } = captureLogs('info')
  // Until config/schema.ts knows `watch`, the tests ask for the watcher through the loaded config.
  const load = (): LoadedConfig => {
    const config = loadConfigFile(path)
    if (options.watchDebounceMs !== undefined) Object.assign(config, { watch: true })
    return config
  }
  const app = await buildApp(load(), {
    logger,
    router: options.router,
    reload: { path, load, watchDebounceMs: options.watchDebounceMs },
  })
  closeAfterTest(() => app.close())
  await app.ready()
  return {
    app,
    path,
    logs,
    rawLogs,
    write: (next) => writeConfigFile(path, next),
    reload: () => app.inject({ method: 'POST', url: '/admin/reload', headers: bearer }),
    admin: (method, url) => app.inject({ method, url, headers: bearer }),
  }
}

export const chat = (app: FastifyInstance, model: string, extra: Record<string, unknown> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/chat/completions',
    headers: bearer,
    payload: { model, messages: [{ role: 'user', content: 'hello there' }], ...extra },
  })

export function errorOf(res: LightMyRequestResponse, status: number) {
  expect(res.statusCode, res.body).toBe(status)
  const body = res.json()
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  return body.error as { message: string; type: string; param: string | null; code: string | null }
}

export const linesWith = (logs: Record<string, unknown>[], msg: string) => logs.filter((l) => l.msg === msg)
