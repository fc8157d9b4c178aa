import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { substituteEnv, substituteEnvInString } from '../config/env-substitute.js'
import { defaultConfigPath, loadConfigFile, parseConfig } from '../config/load.js'
import { configProblems } from './helpers/app.js'

describe('environment substitution', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['${A}', {}, ''],
    ['${A:-fallback}', {}, 'fallback'],
    ['${A:-fallback}', { A: '' }, 'fallback'],
    ['${A:-fallback}', { A: 'set' }, 'set'],
    ['pre-${A}-${B:-b}-post', { A: 'a' }, 'pre-a-b-post'],
    ['no reference', { A: 'a' }, 'no reference'],
  ])('%s with %o is %s', (input, env, expected) => {
    expect(substituteEnvInString(input, env)).toBe(expected)
  })

  it('substitutes inside values only, so a secret cannot change the YAML structure', () => {
    const env = { KEY: 'abc: # not a comment\n  injected: true' }
    expect(substituteEnv({ api_key: '${KEY}', list: ['${KEY}'] }, env)).toEqual({
      api_key: env.KEY,
      list: [env.KEY],
    })
  })
})

describe('parseConfig', () => {
  it('fills defaults and converts substituted numbers', () => {
    const config = parseConfig({ server: { port: '${PORT:-9090}' }, providers: { m: { type: 'mock' } } }, {})
    expect(config.server).toMatchObject({ port: 9090, host: '127.0.0.1', shutdown_timeout_ms: 30_000 })
    expect(config.providers[0]).toMatchObject({
      name: 'm',
      enabled: true,
      models: [],
      timeouts: { connect_ms: 10_000 },
    })
  })

  it('gives openai and ollama their documented default base_url', () => {
    const config = parseConfig(
      { providers: { o: { type: 'openai', api_key: 'k' }, l: { type: 'ollama' } } },
      {},
    )
    expect(config.providers.map((p) => p.base_url)).toEqual([
      'https://api.openai.com/v1',
      'http://127.0.0.1:11434/v1',
    ])
  })

  it('enables an "auto" provider only when its key is set', () => {
    const raw = { providers: { o: { type: 'openai', enabled: 'auto', api_key: '${OPENAI_API_KEY}' } } }
    expect(parseConfig(raw, {}).providers[0]?.enabled).toBe(false)
    expect(parseConfig(raw, { OPENAI_API_KEY: 'sk-1' }).providers[0]?.enabled).toBe(true)
  })

  it('names every bad path in one error', () => {
    const problems = configProblems({
      server: { port: 'eighty', prot: 1 },
      providers: {
        openai: { type: 'openai', base_url: 'not a url' },
        weird: { type: 'nonsense' },
        nothing: {},
      },
      models: [{ name: 'a', targets: [{ provider: 'missing', model: 'x' }] }],
    })
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^server\.prot: /),
        'providers.openai.base_url: must be a URL',
        expect.stringMatching(/^providers\.weird\.type: /),
      ]),
    )
  })

  it('checks cross references once the shapes are right', () => {
    const problems = configProblems({
      providers: { m: { type: 'mock' }, p: { plugin: './x.js', type: 'mock' }, none: {} },
      models: [
        { name: 'a', targets: [{ provider: 'missing', model: 'x' }], fallbacks: ['ghost'] },
        { name: 'a', targets: [{ provider: 'm', model: 'x' }] },
      ],
    })
    expect(problems).toEqual([
      'providers.p: give a type or a plugin, not both',
      'providers.none: needs a type or a plugin',
      'models[0].targets[0].provider: no provider named "missing" (configured: m, p, none)',
      'models[1].name: "a" is defined twice',
      'models[0].fallbacks[0]: no model named "ghost" in models',
    ])
  })

  it('refuses provider names that would break <provider>/<model> ids', () => {
    expect(configProblems({ providers: { 'a/b': { type: 'mock' } } }).join('\n')).toContain('providers.a/b')
  })
})

describe('loadConfigFile', () => {
  const write = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'anygate-config-'))
    const path = join(dir, 'anygate.yaml')
    writeFileSync(path, text)
    return path
  }

  it('reads YAML and reports the file in errors', () => {
    const good = loadConfigFile(write('providers:\n  m:\n    type: mock\n'), {})
    expect(good.providers[0]?.name).toBe('m')
    expect(() => loadConfigFile(write('providers: [unclosed'), {})).toThrow(/not valid YAML/)
    expect(() => loadConfigFile('/nonexistent/anygate.yaml', {})).toThrow(/cannot read/)
  })

  it('loads the embedded default: mock on, keyed providers off until their key is set', () => {
    const config = loadConfigFile(defaultConfigPath(), {})
    const enabled = config.providers.filter((p) => p.enabled).map((p) => p.name)
    expect(enabled).toEqual(['mock'])
    const withKey = loadConfigFile(defaultConfigPath(), { OPENAI_API_KEY: 'sk-test' })
    expect(withKey.providers.filter((p) => p.enabled).map((p) => p.name)).toEqual(['mock', 'openai'])
  })

  it('accepts every shipped example config', async () => {
    const { readdirSync } = await import('node:fs')
    const dir = join(import.meta.dirname, '..', 'config', 'examples')
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(4)
    for (const file of files) {
      expect(() => loadConfigFile(join(dir, file), { OPENAI_API_KEY: 'sk-x' }), file).not.toThrow()
    }
  })
})
