// JSON lines with bigints, for the demo's coordinator <-> site process messages.

/** One message as a line: bigints become {"$bigint": "..."}. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v)) + '\n'
}

/** The inverse of toJsonLine. */
export function fromJsonLine<T>(line: string): T {
  return JSON.parse(line, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && '$bigint' in v ? BigInt((v as { $bigint: string }).$bigint) : v,
  ) as T
}
