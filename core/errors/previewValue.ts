/**
 * A value as JSON for an error message, cut to `maxChars`: a message names what was
 * received without echoing a 60 KB body, and nesting of any depth cannot overflow the
 * stack (the walk stops when the budget is spent, one character per level at least).
 */
export function previewValue(value: unknown, maxChars = 120): string {
  let out = ''
  const full = () => out.length >= maxChars
  const put = (text: string) => {
    out += text.length > maxChars - out.length ? text.slice(0, Math.max(0, maxChars - out.length)) : text
  }
  const walk = (v: unknown, inArray: boolean): void => {
    if (full()) return
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON()
    if (typeof v === 'bigint') return put(`${v}n`)
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return put(inArray ? 'null' : 'undefined')
    if (v === null || typeof v !== 'object') return put(JSON.stringify(v))
    const array = Array.isArray(v)
    put(array ? '[' : '{')
    const entries: [string, unknown][] = array ? (v as unknown[]).map((x, i) => [String(i), x]) : Object.entries(v as object).filter(([, x]) => x !== undefined)
    for (const [i, [key, x]] of entries.entries()) {
      if (full()) break
      if (i) put(',')
      if (!array) put(`${JSON.stringify(key)}:`)
      walk(x, array)
    }
    put(array ? ']' : '}')
  }
  walk(value, false)
  return out.length >= maxChars ? `${out.slice(0, maxChars)}…` : out
}
