import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { type BuildOptions, buildApp } from '../../app.js'
import { ConfigError, type LoadedConfig, parseConfig } from '../../config/load.js'
import { redactPaths } from '../../plugins/request-log.js'
import { closeAfterTest } from './cleanup.js'

/** A config object as the YAML file would hold it, validated like one (no environment). */
export function testConfig(raw: Record<string, unknown>, env: Record<string, string> = {}): LoadedConfig {
  return parseConfig(raw, env, process.cwd())
}

/** The problems a config is refused with; fails the test when the config is accepted. */
export function configProblems(raw: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(raw, env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('config was accepted')
}

export const mockOnly = { providers: { mock: { type: 'mock' } }, models: [] }

export interface CapturedLogs {
  /** Every log line the app wrote, parsed. */
  logs: Record<string, unknown>[]
  /** Every log line as written, for "never contains" checks. */
  rawLogs: string[]
}

/** A pino logger with the app's redaction, writing into arrays the test reads. */
export function captureLogs(level: pino.Level = 'debug'): CapturedLogs & { logger: pino.Logger } {
  const logs: Record<string, unknown>[] = []
  const rawLogs: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      const text = chunk.toString()
      rawLogs.push(text)
      for (const line of text.split('\n').filter(Boolean)) logs.push(JSON.parse(line))
      callback()
    },
  })
  const logger = pino({ level, redact: { paths: redactPaths, censor: '[redacted]' } }, sink)
  return { logger, logs, rawLogs }
}

export interface TestApp extends CapturedLogs {
  app: FastifyInstance
}

/** What buildApp takes besides the logger (always captured), plus a hook before ready. */
export interface TestAppOptions extends Omit<BuildOptions, 'logger'> {
  /** Runs before ready, e.g. to add a hook the test observes with. */
  setup?: (app: FastifyInstance) => void
}

export async function buildTestApp(
  raw: Record<string, unknown> = mockOnly,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const { logger, logs, rawLogs } = captureLogs()
  const { setup, ...buildOptions } = options
  const app = await buildApp(testConfig(raw), { ...buildOptions, logger })
  // Connections a test's client left open are cut at teardown: Node's own fetch may keep a spare
  // connection without a request, which app.close() would otherwise wait out (keep-alive, 72 s).
  closeAfterTest(async () => {
    const closing = app.close()
    app.server.closeAllConnections()
    await closing
  })
  setup?.(app)
  await app.ready()
  return { app, logs, rawLogs }
}

/** The same, listening on an ephemeral loopback port; returns its origin. */
export async function listenTestApp(
  raw: Record<string, unknown> = mockOnly,
  options: TestAppOptions = {},
): Promise<TestApp & { origin: string }> {
  const built = await buildTestApp(raw, options)
  const origin = await built.app.listen({ port: 0, host: '127.0.0.1' })
  return { ...built, origin }
}

/** Parses an SSE body into its data payloads (JSON-parsed, except [DONE]). */
export function parseSse(body: string): unknown[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)))
}

export const chatBody = (model: string, content = 'hello there', extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content }],
  ...extra,
})
