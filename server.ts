// The CLI: flags and environment, config loading (and reloading on SIGHUP), listen, and graceful shutdown.
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { buildApp } from './app.js'
import { ConfigError, defaultConfigPath, type LoadedConfig, loadConfigFile } from './config/load.js'
import { applyRuntimeNodeFlags } from './config/node-flags.js'

const usage = `Usage: anygate [--config <file.yaml>] [--port N] [--host H]

  --config   config file (default: $ANYGATE_CONFIG, else config/anygate.yaml)
  --port     listen port (overrides $PORT and server.port)
  --host     listen address (overrides $HOST and server.host)`

function parseFlags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  return values
}

function parsePort(value: string, source: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError([`${source}: must be a port number`])
  return port
}

function applyOverrides(config: LoadedConfig, flags: ReturnType<typeof parseFlags>): void {
  const env = process.env
  if (env.PORT) config.server.port = parsePort(env.PORT, 'PORT')
  if (env.HOST) config.server.host = env.HOST
  if (flags.port) config.server.port = parsePort(flags.port, '--port')
  if (flags.host) config.server.host = flags.host
}

async function main(): Promise<void> {
  // Also without npm start's flags: see config/node-flags.ts.
  applyRuntimeNodeFlags()
  let flags: ReturnType<typeof parseFlags>
  try {
    flags = parseFlags(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`anygate: ${(err as Error).message}\n${usage}\n`)
    process.exit(2)
  }
  if (flags.help) {
    process.stdout.write(`${usage}\n`)
    return
  }

  const configPath = resolve(flags.config ?? process.env.ANYGATE_CONFIG ?? defaultConfigPath())
  // A reload reads the file the same way, flags and environment included, so they never show as changes.
  const load = () => {
    const loaded = loadConfigFile(configPath)
    applyOverrides(loaded, flags)
    return loaded
  }
  let config: LoadedConfig
  try {
    config = load()
  } catch (err) {
    process.stderr.write(`anygate: ${(err as Error).message}\n`)
    process.exit(1)
  }

  // buildApp reads server.tls's files: one it cannot use is reported like any other config problem.
  const app = await buildApp(config, { reload: { path: configPath, load } }).catch((err: unknown) => {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`anygate: ${err.message}\n`)
    return process.exit(1)
  })
  let stopping = false
  const stop = async (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now')
      process.exit(1)
    }
    stopping = true
    // SIGTERM comes from an orchestrator: go unready first and keep serving while it notices.
    // SIGINT is a person at a terminal: stop now.
    const delayMs = signal === 'SIGTERM' ? config.server.drain_delay_ms : 0
    if (delayMs > 0) {
      app.lifecycle.state = 'unready'
      app.log.info({ signal, drain_delay_ms: delayMs }, 'unready: still serving until the drain starts')
      await sleep(delayMs)
    }
    app.lifecycle.state = 'draining'
    app.log.info(
      { signal, timeout_ms: config.server.shutdown_timeout_ms },
      'draining: finishing in-flight requests',
    )
    const deadline = setTimeout(() => {
      app.log.warn('shutdown timeout reached: closing remaining connections')
      app.server.closeAllConnections()
    }, config.server.shutdown_timeout_ms)
    deadline.unref()
    // A keep-alive socket whose last request finished during the drain would otherwise hold the
    // close open until the deadline.
    const sweeper = setInterval(() => app.server.closeIdleConnections(), 100)
    try {
      await app.close()
    } finally {
      clearTimeout(deadline)
      clearInterval(sweeper)
      app.log.info('stopped')
      process.exit(0)
    }
  }
  process.on('SIGTERM', () => void stop('SIGTERM'))
  process.on('SIGINT', () => void stop('SIGINT'))
  // Reload the config file; the outcome (changes, or every problem of an invalid file) is logged.
  process.on('SIGHUP', () => void app.runtime.reload('signal').catch(() => {}))

  try {
    await app.listen({ port: config.server.port, host: config.server.host })
  } catch (err) {
    app.log.fatal({ err }, 'cannot listen')
    process.exit(1)
  }
  app.log.info({ providers: app.providers.names() }, 'AnyGate is ready')
}

await main()
