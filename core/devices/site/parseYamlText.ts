import { parseDocument, Parser } from 'yaml'
import { BaseError } from '../../errors/BaseError.ts'

/** Text that is not a YAML document GridMesh will read; each problem says why. */
export class YamlTextError extends BaseError {
  override name = 'YamlTextError' as const
  readonly problems: string[]
  constructor({ problems, cause }: { problems: string[]; cause?: unknown }) {
    super(problems[0] ?? 'invalid YAML', { metaMessages: problems.slice(1), cause })
    this.problems = problems
  }
}

/** Our files are small: the biggest real site file is a few kB. */
export const maxYamlBytes = 1024 * 1024
/** Deeper than any schema we read (a site file nests 5 levels); the composer recurses per level. */
export const maxYamlDepth = 64
/** Alias expansions allowed (yaml's own count: uses times the aliases they contain); a billion-laughs file needs millions. */
export const maxYamlAliasCount = 100

/**
 * Parses YAML (or JSON) text from outside into plain data, refusing what would exhaust the process:
 * more than 1 MiB, nesting deeper than 64 levels, an alias bomb. Throws YamlTextError.
 */
export function parseYamlText(text: string): unknown {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > maxYamlBytes) throw new YamlTextError({ problems: [`the file is larger than 1 MiB (${(bytes / 1024 / 1024).toFixed(1)} MiB); expected a site file of at most 1 MiB`] })
  // yaml's composer and toJS recurse once per nesting level; ~100,000 levels (200 kB of
  // '- - - ...') abort node with a fatal out-of-memory inside V8's regexp compiler, which
  // no catch can stop. Its CST parser keeps an explicit stack, so the depth is measured
  // on the CST first, iteratively.
  const { depth, collectionKey } = measureDepth(text)
  if (depth > maxYamlDepth) throw new YamlTextError({ problems: [`YAML nested deeper than ${maxYamlDepth} levels (at least ${depth})`] })
  // `? [a, b] : c` is legal YAML; as a JS object key it would be stringified (and yaml prints a process warning).
  if (collectionKey) throw new YamlTextError({ problems: ['a YAML key that is a list or a map; expected plain keys'] })
  const doc = parseDocument(text, { prettyErrors: false, logLevel: 'error' })
  if (doc.errors.length) throw new YamlTextError({ problems: doc.errors.map((e) => `YAML ${e.message.split('\n')[0]}`) })
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: maxYamlAliasCount })
  } catch (cause) {
    // yaml throws a ReferenceError when aliases would expand beyond maxAliasCount.
    if (cause instanceof ReferenceError && /alias/i.test(cause.message)) {
      throw new YamlTextError({ problems: [`too many YAML aliases (more than ${maxYamlAliasCount} expansions: an alias bomb?)`], cause })
    }
    if (cause instanceof ReferenceError) throw new YamlTextError({ problems: [`YAML ${cause.message}`], cause })
    throw cause
  }
  // `a: &x [*x]` is legal YAML and a cyclic value: every walk over it (validation, messages, JSON) never ends.
  if (hasCycle(value)) throw new YamlTextError({ problems: ['a YAML alias refers to a node that contains it (a cycle); expected plain data'] })
  return value
}

/** Whether a value reaches itself; shared (aliased) nodes that are no cycle are fine. Iterative. */
function hasCycle(root: unknown): boolean {
  const onPath = new Set<object>()
  const done = new Set<object>()
  const stack: [object, boolean][] = []
  if (root && typeof root === 'object') stack.push([root, false])
  while (stack.length > 0) {
    const [node, leaving] = stack.pop()!
    if (leaving) {
      onPath.delete(node)
      done.add(node)
      continue
    }
    if (done.has(node)) continue
    onPath.add(node)
    stack.push([node, true])
    const children = node instanceof Map ? [...node.keys(), ...node.values()] : node instanceof Set ? [...node] : Object.values(node)
    for (const child of children) {
      if (!child || typeof child !== 'object') continue
      if (onPath.has(child)) return true
      if (!done.has(child)) stack.push([child, false])
    }
  }
  return false
}

type CstNode = { type?: string; value?: unknown; key?: unknown; items?: unknown[] }

/** The deepest nesting of collections in the text's CST, and whether a key is a collection; walked without recursion, stops counting past the limit. */
function measureDepth(text: string): { depth: number; collectionKey: boolean } {
  let deepest = 0
  let collectionKey = false
  const stack: [CstNode, number][] = []
  for (const token of new Parser().parse(text)) stack.push([token as CstNode, 0])
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (!node || typeof node !== 'object') continue
    if (node.value) stack.push([node.value as CstNode, depth])
    if (Array.isArray(node.items)) {
      // A collection: one level deeper than its parent; its keys and values sit inside it.
      const level = depth + 1
      if (level > deepest) deepest = level
      if (deepest > maxYamlDepth) return { depth: deepest, collectionKey }
      for (const item of node.items as CstNode[]) {
        if (item?.key && Array.isArray((item.key as CstNode).items)) collectionKey = true
        if (item?.key) stack.push([item.key as CstNode, level])
        if (item?.value) stack.push([item.value as CstNode, level])
      }
    }
  }
  return { depth: deepest, collectionKey }
}
