/**
 * Length of an RTU request frame from its first bytes, or null when it cannot be known
 * yet (too few bytes) or at all (an unknown function: the frame ends at the silence).
 */
export function rtuRequestLength(frame: Buffer): number | null {
  if (frame.length < 2) return null
  const fc = frame[1]!
  if (fc >= 1 && fc <= 6) return 8
  if (fc === 0x0f || fc === 0x10) return frame.length >= 7 ? 9 + frame[6]! : null
  return null
}
