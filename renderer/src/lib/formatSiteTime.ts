import { TZDate } from '@date-fns/tz'
import { format } from 'date-fns'

/**
 * A time in the site's own zone (SiteSummary.timeZone), never the browser's: an operator
 * in another zone reads the site's clock. The pattern is date-fns's; the zone abbreviation
 * is appended where asked, so the reader knows which clock it is.
 */
export function formatSiteTime(ms: number | null | undefined, timeZone: string, pattern = 'HH:mm:ss'): string {
  if (ms == null || !Number.isFinite(ms)) return '—'
  return format(new TZDate(ms, timeZone), pattern)
}
