import { describe, expect, it } from 'vitest'
import { maxYamlDepth, parseYamlText, YamlTextError } from './parseYamlText.ts'

const problemsOf = (text: string): string[] => {
  try {
    parseYamlText(text)
  } catch (error) {
    expect(error).toBeInstanceOf(YamlTextError)
    return (error as YamlTextError).problems
  }
  throw new Error('expected the text to be refused')
}

describe('parseYamlText', () => {
  it('reads ordinary YAML and JSON, anchors and aliases included', () => {
    expect(parseYamlText('a: &x [1, 2]\nb: *x\n')).toEqual({ a: [1, 2], b: [1, 2] })
    expect(parseYamlText('{"a": {"b": [true, null]}}')).toEqual({ a: { b: [true, null] } })
  })

  it('accepts nesting up to the limit and refuses one level more', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`
    expect(() => parseYamlText(nested(maxYamlDepth))).not.toThrow()
    expect(problemsOf(nested(maxYamlDepth + 1))).toEqual([`YAML nested deeper than ${maxYamlDepth} levels (at least ${maxYamlDepth + 1})`])
  })

  it('refuses 100,000 nested block sequences (200 kB that aborted node inside yaml) by name', () => {
    expect(problemsOf(`${'- '.repeat(100_000)}x`)).toEqual([expect.stringMatching(/^YAML nested deeper than 64 levels/)])
  })

  it('refuses a billion laughs', () => {
    const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (let i = 1; i < 9; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(',')}]`)
    expect(problemsOf(lines.join('\n'))).toEqual([expect.stringMatching(/^too many YAML aliases \(more than 100/)])
  })

  it('refuses an alias that contains itself (a cyclic value no walk over it ends), and allows shared ones', () => {
    expect(problemsOf('name: &a [*a]\n')).toEqual(['a YAML alias refers to a node that contains it (a cycle); expected plain data'])
    expect(problemsOf('&x {name: *x}')).toEqual(['a YAML alias refers to a node that contains it (a cycle); expected plain data'])
    expect(parseYamlText('a: &s {x: 1}\nb: [*s, *s]\n')).toEqual({ a: { x: 1 }, b: [{ x: 1 }, { x: 1 }] })
  })

  it('refuses a key that is a list or a map (it would be stringified, with a process warning)', () => {
    expect(problemsOf('? [a, b]\n: c\n')).toEqual(['a YAML key that is a list or a map; expected plain keys'])
    expect(problemsOf('{[a]: 1}')).toEqual(['a YAML key that is a list or a map; expected plain keys'])
  })

  it('names a syntax error', () => {
    expect(problemsOf('a: [1, 2\n')[0]).toMatch(/^YAML /)
  })
})
