// The heap flags AnyGate is deployed with (config/node-flags.ts) are passed by every way it is
// started as a product, and the bench measures a gateway started the same way.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { nodeFlagsFor } from '../bench/child-server.js'
import { gatewayNodeFlags } from '../config/node-flags.js'

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')

describe('gateway node flags', () => {
  it('npm start passes them to node', () => {
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!
    expect(start).toBe(`node ${gatewayNodeFlags.join(' ')} dist/server.js`)
  })

  it("the container's CMD passes them to node", () => {
    const cmd = read('Dockerfile')
      .split('\n')
      .filter((line) => line.startsWith('CMD '))
      .at(-1)
    expect(cmd).toBeDefined()
    expect(JSON.parse(cmd!.slice('CMD '.length))).toEqual(['node', ...gatewayNodeFlags, 'dist/server.js'])
  })

  it('the bench forks AnyGate with them, and the floor and fake upstream without', () => {
    expect(nodeFlagsFor('anygate')).toEqual(gatewayNodeFlags)
    expect(nodeFlagsFor('soak-gateway')).toEqual(gatewayNodeFlags)
    expect(nodeFlagsFor('floor')).toEqual([])
    expect(nodeFlagsFor('fake-upstream')).toEqual([])
  })

  it('are flags this node accepts, and they size the young generation', async () => {
    const { execFileSync } = await import('node:child_process')
    const script =
      "const v8=require('node:v8');let k=[];for(let i=0;i<2e6;i++){k.push({i});if(k.length>1e5)k=[]}" +
      "process.stdout.write(String(v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size))"
    const sized = Number(
      execFileSync(process.execPath, [...gatewayNodeFlags, '-e', script], { encoding: 'utf8' }),
    )
    // Two semi-spaces of at most 8 MB each, however much the script allocated.
    expect(sized).toBeGreaterThan(0)
    expect(sized).toBeLessThanOrEqual(16 * 1024 * 1024)
  })
})
