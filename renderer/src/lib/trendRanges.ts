/** The trend view's ranges, 10 minutes to 90 days, and the tier the server is expected to pick for each (raw up to 6 h, 1 min up to 7 d, then 15 min). */
export const trendRanges = [
  { label: '10 min', ms: 600_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 86_400_000 },
  { label: '7 d', ms: 7 * 86_400_000 },
  { label: '30 d', ms: 30 * 86_400_000 },
  { label: '90 d', ms: 90 * 86_400_000 },
] as const
