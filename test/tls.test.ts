// server.tls: the gateway serves HTTPS itself with the PEM files the config names (relative to the
// config file), and refuses a half or unusable TLS setting with a config error naming the field.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../app.js'
import { ConfigError, type LoadedConfig, loadConfigFile } from '../config/load.js'
import { chatBody, configProblems, mockOnly } from './helpers/app.js'
import { closeAfterTest } from './helpers/cleanup.js'

let dir: string
let caCert: string

/** A self-signed certificate for 127.0.0.1 and localhost, valid one day; node:crypto makes no X.509. */
function makeCertificate(keyFile: string, certFile: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=anygate-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  )
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'anygate-tls-'))
  mkdirSync(join(dir, 'tls'))
  makeCertificate(join(dir, 'tls', 'key.pem'), join(dir, 'tls', 'cert.pem'))
  caCert = readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8')
})

/** A config file in `dir` (so relative paths resolve against it), loaded by the real loader. */
function configWithTls(tls: string): LoadedConfig {
  const path = join(dir, `anygate-${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(
    path,
    `server:\n  tls: ${tls}\nproviders:\n  mock: { type: mock }\nmodels:\n  - { name: echo, targets: [{ provider: mock, model: echo }] }\n`,
  )
  return loadConfigFile(path, {})
}

async function listen(config: LoadedConfig): Promise<string> {
  const app = await buildApp(config, { logger: false })
  closeAfterTest(() => app.close())
  return app.listen({ port: 0, host: '127.0.0.1' })
}

function trusting(ca: string): Agent {
  const agent = new Agent({ connect: { ca } })
  closeAfterTest(() => agent.close())
  return agent
}

describe('server.tls', () => {
  it('serves HTTPS with the certificate and key the config names, relative to its file', async () => {
    const origin = await listen(configWithTls('{ cert_file: tls/cert.pem, key_file: tls/key.pem }'))
    expect(origin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const dispatcher = trusting(caCert)

    const ready = await request(`${origin}/health/ready`, { dispatcher })
    expect(ready.statusCode).toBe(200)
    expect(await ready.body.json()).toEqual({ status: 'ok', providers: ['mock'] })

    const chat = await request(`${origin}/v1/chat/completions`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('echo', 'over tls')),
    })
    expect(chat.statusCode).toBe(200)
    const answer = (await chat.body.json()) as { choices: { message: { content: string } }[] }
    expect(answer.choices[0]?.message.content).toBe('over tls')
  })

  it('is real TLS: a client that does not trust the certificate, or speaks plain HTTP, gets nothing', async () => {
    const origin = await listen(configWithTls('{ cert_file: tls/cert.pem, key_file: tls/key.pem }'))
    await expect(request(`${origin}/health/live`, { dispatcher: trusting('') })).rejects.toThrow(
      /self[- ]signed|certificate/i,
    )
    const plain = origin.replace('https:', 'http:')
    const answered = await request(`${plain}/health/live`).then(
      (response) => response.statusCode,
      () => 'no HTTP answer',
    )
    expect(answered).not.toBe(200)
  })

  it('needs cert_file and key_file together: one alone is a config error naming the missing one', () => {
    const onlyCert = configProblems({ ...mockOnly, server: { tls: { cert_file: 'cert.pem' } } })
    expect(onlyCert).toEqual([
      expect.stringMatching(/^server\.tls\.key_file: must be the path of a PEM file/),
    ])
    const onlyKey = configProblems({ ...mockOnly, server: { tls: { key_file: 'key.pem' } } })
    expect(onlyKey).toEqual([
      expect.stringMatching(/^server\.tls\.cert_file: must be the path of a PEM file/),
    ])
    const unknown = configProblems({
      ...mockOnly,
      server: { tls: { cert_file: 'c.pem', key_file: 'k.pem', ca_file: 'ca.pem' } },
    })
    expect(unknown.join('\n')).toContain('server.tls')
  })

  it('refuses at startup a file it cannot read, naming the field and the resolved path', async () => {
    const config = configWithTls('{ cert_file: tls/missing.pem, key_file: tls/key.pem }')
    const error = await buildApp(config, { logger: false }).then(
      () => null,
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      `server.tls.cert_file: cannot read ${join(dir, 'tls', 'missing.pem')} (ENOENT)`,
    ])
  })

  it('refuses a key that does not belong to the certificate', async () => {
    makeCertificate(join(dir, 'tls', 'other-key.pem'), join(dir, 'tls', 'other-cert.pem'))
    const config = configWithTls('{ cert_file: tls/cert.pem, key_file: tls/other-key.pem }')
    const error = await buildApp(config, { logger: false }).then(
      () => null,
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems[0]).toMatch(
      /^server\.tls: tls\/cert\.pem and tls\/other-key\.pem must be a PEM certificate and its private key \(.*mismatch/,
    )
  })
})
