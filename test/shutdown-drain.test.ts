// Graceful shutdown of the real CLI process, as an orchestrator sees it: SIGTERM while a stream is
// open. Readiness stops answering 200 at once (load balancers stop sending), the open stream still
// runs to data: [DONE], and the process exits 0.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { get, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { chatBody, parseSse } from './helpers/app.js'

const repoRoot = join(import.meta.dirname, '..')
let buildDir: string

// A private build, not dist/: test/server-cli.test.ts rebuilds dist/ in parallel, and a server
// starting from half-written files would fail for reasons that are not this test's.
beforeAll(() => {
  buildDir = mkdtempSync(join(tmpdir(), 'anygate-shutdown-'))
  const tsc = spawnSync(
    process.execPath,
    [
      join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
      ...['-p', 'tsconfig.build.json', '--outDir', join(buildDir, 'dist')],
      ...['--tsBuildInfoFile', join(buildDir, 'tsbuildinfo')],
    ],
    { cwd: repoRoot, encoding: 'utf8' },
  )
  // Type errors are the typecheck's business; this test needs the emitted JavaScript.
  if (!existsSync(join(buildDir, 'dist', 'server.js'))) throw new Error(`build failed:\n${tsc.stdout}`)
  // What dist/ finds around it in the package: dependencies, "type": "module", the shipped YAML.
  copyFileSync(join(repoRoot, 'package.json'), join(buildDir, 'package.json'))
  for (const folder of ['node_modules', 'config', 'routes'])
    symlinkSync(join(repoRoot, folder), join(buildDir, folder))
}, 120_000)

interface Running {
  child: ChildProcess
  origin: Promise<string>
  /** Resolves when the output contains `text`. */
  logged: (text: string) => Promise<void>
  exit: Promise<number | null>
}

function startServer(configYaml: string): Running {
  const configPath = join(buildDir, `config-${Date.now()}.yaml`)
  writeFileSync(configPath, configYaml)
  const child = spawn(process.execPath, [join(buildDir, 'dist', 'server.js'), '--config', configPath], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const waiters: { text: string; resolve: () => void }[] = []
  const onData = (data: Buffer) => {
    output += data.toString()
    for (const waiter of waiters.filter((w) => output.includes(w.text))) waiter.resolve()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const logged = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (output.includes(text)) return resolve()
      waiters.push({ text, resolve })
      void exit.then(() => reject(new Error(`exited before logging "${text}":\n${output}`)))
    })
  const origin = logged('AnyGate is ready').then(
    () => /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!,
  )
  origin.catch(() => {})
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, origin, logged, exit }
}

type ProbeResult = { status: number; body: string } | 'refused' | 'reset'

/**
 * GET on a new connection (never a pooled socket the server may be closing): status and body, or how
 * the connection failed: refused once the listener is closed, reset when the server closed it as idle.
 */
function probe(url: string): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      response.on('end', () => resolve({ status: response.statusCode!, body }))
    }).on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') resolve('refused')
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve('reset')
      else reject(err)
    })
  })
}

/** A streaming chat call: resolves once the first bytes are in, with the whole body to come. */
function openStream(
  origin: string,
  words: number,
): Promise<{ rest: Promise<{ body: string; endedAt: number }> }> {
  const text = Array.from({ length: words }, (_, i) => `w${i}`).join(' ')
  return new Promise((resolveOpen, rejectOpen) => {
    const call = request(
      `${origin}/v1/chat/completions`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-mock-chunk-delay-ms': '100' },
      },
      (response) => {
        let body = ''
        const rest = new Promise<{ body: string; endedAt: number }>((resolve, reject) => {
          response.on('end', () => resolve({ body, endedAt: Date.now() }))
          response.on('error', reject)
        })
        response.once('data', () => resolveOpen({ rest }))
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString()
        })
      },
    )
    call.on('error', rejectOpen)
    call.end(JSON.stringify(chatBody('echo', text, { stream: true })))
  })
}

const config = `
server: { port: 0, host: 127.0.0.1, shutdown_timeout_ms: 15000, drain_delay_ms: 1500 }
providers:
  mock: { type: mock }
models:
  - { name: echo, targets: [{ provider: mock, model: echo }] }
`

describe('SIGTERM with a stream open', () => {
  it('turns readiness off first while still serving, then drains: the stream finishes with [DONE], exit 0', async () => {
    const server = startServer(config)
    const origin = await server.origin
    expect(await probe(`${origin}/health/ready`)).toMatchObject({ status: 200 })

    // 40 words at 100 ms a chunk: about 4 s of stream, past the drain delay and far shorter than the
    // 15 s drain bound.
    const { rest } = await openStream(origin, 40)
    server.child.kill('SIGTERM')
    await server.logged('unready: still serving until the drain starts')
    // The drain delay: readiness is already 503 so the load balancer stops sending, while the API
    // still answers whatever it sends meanwhile.
    const unready = await probe(`${origin}/health/ready`)
    expect(typeof unready === 'object' && unready.status).toBe(503)
    expect(typeof unready === 'object' && JSON.parse(unready.body)).toEqual({ status: 'draining' })
    const served = await probe(`${origin}/v1/models`)
    expect(typeof served === 'object' && served.status).toBe(200)
    await server.logged('draining: finishing in-flight requests')

    // Each possible answer takes this replica out of a load balancer: 503 {status: draining} while
    // the listener is open, a reset connection while it closes, a refused one once it is closed.
    const ready = await probe(`${origin}/health/ready`)
    const probedAt = Date.now()
    if (typeof ready === 'object') {
      expect(ready.status).toBe(503)
      expect(JSON.parse(ready.body)).toEqual({ status: 'draining' })
    }
    const newCall = await probe(`${origin}/v1/models`)
    if (typeof newCall === 'object') expect(newCall.status).toBe(503)

    const { body, endedAt } = await rest
    expect(endedAt).toBeGreaterThan(probedAt)
    const events = parseSse(body)
    expect(events.at(-1)).toBe('[DONE]')
    expect(events.length).toBeGreaterThan(40)
    expect(await server.exit).toBe(0)
    await server.logged('"msg":"stopped"')
  })
})
