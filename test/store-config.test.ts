// `store:` in the config file: memory by default, redis only with a url, closed like every section.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config/load.js'
import { configProblems } from './helpers/app.js'

// biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's syntax for an environment variable
const redisUrlRef = '${REDIS_URL}'

describe('store config', () => {
  it('defaults to the memory store with the anygate: prefix, allowing calls when Redis fails', () => {
    expect(parseConfig({}, {}).store).toEqual({ type: 'memory', key_prefix: 'anygate:', on_error: 'allow' })
  })

  it('takes a Redis url from the environment', () => {
    const store = parseConfig(
      { store: { type: 'redis', url: redisUrlRef, key_prefix: 'gw1:', on_error: 'deny' } },
      { REDIS_URL: 'rediss://:secret@redis.internal:6380/2' },
    ).store
    expect(store).toEqual({
      type: 'redis',
      url: 'rediss://:secret@redis.internal:6380/2',
      key_prefix: 'gw1:',
      on_error: 'deny',
    })
  })

  it('requires a url for redis, also when the variable it names is unset', () => {
    expect(configProblems({ store: { type: 'redis' } })).toEqual([
      'store.url: required when store.type is redis (redis://host:6379)',
    ])
    expect(configProblems({ store: { type: 'redis', url: redisUrlRef } })).toEqual([
      'store.url: required when store.type is redis (redis://host:6379)',
    ])
  })

  it('lets a memory store keep an empty url, so one file serves both', () => {
    expect(parseConfig({ store: { url: redisUrlRef } }, {}).store.type).toBe('memory')
  })

  it('names the path of each mistake', () => {
    const problems = configProblems({
      store: { type: 'postgres', url: 'http://127.0.0.1:6379', on_error: 'retry', ttl: 5 },
    })
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^store\.type: /),
        'store.url: must be a redis:// or rediss:// URL',
        expect.stringMatching(/^store\.on_error: /),
        expect.stringMatching(/^store\.ttl: /),
      ]),
    )
  })
})
