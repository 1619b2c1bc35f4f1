/** One-hot rows for category indices 0..size-1 (the embedding layers' input). */
export function oneHot(values: Int32Array, size: number): Float32Array {
  const out = new Float32Array(values.length * size)
  for (let i = 0; i < values.length; i++) out[i * size + Math.min(size - 1, Math.max(0, values[i] ?? 0))] = 1
  return out
}
