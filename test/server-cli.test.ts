// The built CLI as users run it: `node dist/server.js --config <file>`, flags, signals, exit codes.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { buildTestApp, chatBody, parseSse } from './helpers/app.js'

const repoRoot = join(import.meta.dirname, '..')
const serverJs = join(repoRoot, 'dist', 'server.js')

beforeAll(() => {
  execFileSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: repoRoot,
      stdio: 'inherit',
    },
  )
}, 120_000)

function writeConfig(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'anygate-cli-')), 'config.yaml')
  writeFileSync(path, yaml)
  return path
}

interface Running {
  child: ChildProcess
  origin: Promise<string>
  exit: Promise<number | null>
  output: () => string
}

function startServer(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [serverJs, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const origin = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      output += data.toString()
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error(`server exited before listening:\n${output}`)))
  })
  origin.catch(() => {})
  child.stderr!.on('data', (data: Buffer) => {
    output += data.toString()
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, origin, exit, output: () => output }
}

const mockConfig = `
server: { port: 1, host: 127.0.0.1, shutdown_timeout_ms: 5000 }
providers:
  mock: { type: mock }
models:
  - { name: echo, targets: [{ provider: mock, model: echo }] }
`

describe('the anygate CLI', () => {
  it('exits 1 on an invalid config, naming every bad path in one message', async () => {
    const path = writeConfig(`
server: { port: "eighty" }
providers:
  openai: { type: openai, base_url: "not a url" }
models:
  - { name: a, targets: [{ provider: ghost, model: x }] }
`)
    const run = startServer(['--config', path])
    expect(await run.exit).toBe(1)
    expect(run.output()).toContain('server.port')
    expect(run.output()).toContain('providers.openai.base_url: must be a URL')
    expect(run.output()).not.toMatch(/\n\s+at /)
  })

  it('reads the config from ANYGATE_CONFIG, lets PORT override it and --port override both', async () => {
    const path = writeConfig(mockConfig)
    const run = startServer(['--port', '0'], { ANYGATE_CONFIG: path, PORT: '1' })
    const origin = await run.origin
    const ready = await fetch(`${origin}/health/ready`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ status: 'ok', providers: ['mock'] })
    const chat = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('echo', 'cli')),
    })
    const answer = (await chat.json()) as { choices: { message: { content: string } }[] }
    expect(answer.choices[0]?.message.content).toBe('cli')
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  })

  it('starts on the embedded default config with no keys at all', async () => {
    const run = startServer(['--port', '0'])
    const origin = await run.origin
    const models = (await (await fetch(`${origin}/v1/models`)).json()) as { data: { id: string }[] }
    expect(models.data.map((m) => m.id)).toContain('echo')
    run.child.kill('SIGINT')
    expect(await run.exit).toBe(0)
  })

  it('on SIGTERM finishes an in-flight stream, then exits 0', async () => {
    const run = startServer(['--config', writeConfig(mockConfig), '--port', '0'])
    const origin = await run.origin
    const response = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '40' },
      body: JSON.stringify(
        chatBody('echo', 'one two three four five six seven eight nine ten', { stream: true }),
      ),
    })
    const reader = response.body!.getReader()
    let body = new TextDecoder().decode((await reader.read()).value)
    run.child.kill('SIGTERM')
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      body += new TextDecoder().decode(value)
    }
    const events = parseSse(body)
    expect(events.at(-1)).toBe('[DONE]')
    expect(events.length).toBeGreaterThan(10)
    expect(await run.exit).toBe(0)
  })

  it('stops waiting for streams after server.shutdown_timeout_ms and still exits 0', async () => {
    const config = mockConfig.replace('shutdown_timeout_ms: 5000', 'shutdown_timeout_ms: 300')
    const run = startServer(['--config', writeConfig(config), '--port', '0'])
    const origin = await run.origin
    const response = await fetch(`${origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '1000' },
      body: JSON.stringify(chatBody('echo', 'a b c d e f g h i j', { stream: true })),
    })
    await response.body!.getReader().read()
    const started = Date.now()
    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('prints usage for --help and refuses unknown flags', async () => {
    const help = startServer(['--help'])
    expect(await help.exit).toBe(0)
    expect(help.output()).toContain('--config')
    const bad = startServer(['--bogus'])
    expect(await bad.exit).toBe(2)
  })
})

describe('draining', () => {
  it('answers 503 on readiness and on the API while draining, while liveness stays 200', async () => {
    const { app } = await buildTestApp()
    app.lifecycle.state = 'draining'
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(503)
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    const api = await app.inject({
      method: 'POST',
      url: '/v1/chat/completions',
      payload: chatBody('mock/echo'),
    })
    expect(api.statusCode).toBe(503)
    expect(api.json().error.code).toBe('draining')
    expect(api.headers.connection).toBe('close')
  })

  it('is not ready before it listens', async () => {
    const { app } = await buildTestApp()
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).json()).toEqual({ status: 'starting' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200)
  })
})
