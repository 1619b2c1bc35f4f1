export type RegisterRange = { unitId: number; fn: 'holding' | 'input'; address: number; count: number }

/**
 * Groups register ranges into as few reads as the device allows: per unit and function,
 * adjacent ranges (or ranges at most `maxGap` unused registers apart) merge while a read
 * stays within `maxRegisters`.
 */
export function planReads(ranges: readonly RegisterRange[], limits: { maxRegisters: number; maxGap: number }): RegisterRange[] {
  const sorted = [...ranges].sort((a, b) => a.unitId - b.unitId || a.fn.localeCompare(b.fn) || a.address - b.address)
  const blocks: RegisterRange[] = []
  for (const r of sorted) {
    const last = blocks.at(-1)
    const end = r.address + r.count
    if (last && last.unitId === r.unitId && last.fn === r.fn && r.address - (last.address + last.count) <= limits.maxGap
      && Math.max(end, last.address + last.count) - last.address <= limits.maxRegisters) {
      last.count = Math.max(end, last.address + last.count) - last.address
    } else blocks.push({ ...r })
  }
  return blocks
}
