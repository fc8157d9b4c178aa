// SIGHUP through the built CLI: `node dist/server.js --config <file>` reloads the file, and refuses an
// invalid one, logging every problem and serving on with the running config.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { chatBody } from './helpers/app.js'
import { writeConfigFile } from './reload-helpers.js'

const repoRoot = join(import.meta.dirname, '..')
const serverJs = join(repoRoot, 'dist', 'server.js')

beforeAll(() => {
  execFileSync(
    process.execPath,
    [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: repoRoot, stdio: 'inherit' },
  )
  expect(existsSync(serverJs)).toBe(true)
}, 120_000)

interface Running {
  child: ChildProcess
  origin: Promise<string>
  exit: Promise<number | null>
  output: () => string
  /** Resolves once the output holds `text` after `from` characters. */
  waitFor(text: string, from?: number): Promise<void>
}

function startServer(args: string[]): Running {
  const child = spawn(process.execPath, [serverJs, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const waiters: { text: string; from: number; resolve: () => void }[] = []
  const onData = (data: Buffer) => {
    output += data.toString()
    for (const waiter of waiters.filter((w) => output.indexOf(w.text, w.from) >= 0)) {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  const origin = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error(`server exited before listening:\n${output}`)))
  })
  origin.catch(() => {})
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return {
    child,
    origin,
    exit,
    output: () => output,
    waitFor: (text, from = 0) =>
      output.indexOf(text, from) >= 0
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ text, from, resolve })),
  }
}

const configFor = (upstreamModel: string) => `
server: { port: 1, host: 127.0.0.1, shutdown_timeout_ms: 5000 }
providers:
  mock: { type: mock }
models:
  - { name: chat, targets: [{ provider: mock, model: ${upstreamModel} }] }
`

describe('SIGHUP', () => {
  it('reloads the config file, and keeps the running one when the file is invalid', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'anygate-sighup-')), 'anygate.yaml')
    writeConfigFile(path, configFor('echo'))
    const run = startServer(['--config', path, '--port', '0'])
    const origin = await run.origin
    const servedBy = async () => {
      const res = await fetch(`${origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chatBody('chat')),
      })
      expect(res.status).toBe(200)
      return res.headers.get('x-anygate-model')
    }
    expect(await servedBy()).toBe('echo')

    writeConfigFile(path, configFor('fixed'))
    let mark = run.output().length
    run.child.kill('SIGHUP')
    await run.waitFor('"msg":"config reloaded"', mark)
    expect(await servedBy()).toBe('fixed')
    // --port 0 from the command line is applied to the reloaded file too: no restart asked for.
    expect(run.output().slice(mark)).toContain('"restart_required":[]')

    writeConfigFile(path, `${configFor('echo')}\nrouting: { strategy: fastest }\nbogus: 1\n`)
    mark = run.output().length
    run.child.kill('SIGHUP')
    await run.waitFor('config reload refused', mark)
    const refusal = run.output().slice(mark)
    expect(refusal).toContain('routing.strategy')
    expect(refusal).toContain('bogus')
    expect(await servedBy()).toBe('fixed')

    run.child.kill('SIGTERM')
    expect(await run.exit).toBe(0)
  }, 30_000)
})
