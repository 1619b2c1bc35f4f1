/** One RFC 4180 record (CRLF-terminated): fields with a comma, quote, CR or LF are quoted, quotes doubled; null is empty. */
export function formatCsvRow(fields: readonly (string | number | boolean | null)[]): string {
  return `${fields.map(formatField).join(',')}\r\n`
}

function formatField(field: string | number | boolean | null): string {
  if (field === null) return ''
  const text = String(field)
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
