import { expect, it } from 'vitest'
import { formatCsvRow } from './formatCsvRow.ts'

it('quotes only fields with a comma, quote, CR or LF, doubles quotes, and ends records with CRLF (RFC 4180)', () => {
  expect(formatCsvRow(['plain', 1.5, -2, true, null, ''])).toBe('plain,1.5,-2,true,,\r\n')
  expect(formatCsvRow(['a,b', 'say "hi"', 'line\nbreak', 'cr\rlf\r\n', '"'])).toBe('"a,b","say ""hi""","line\nbreak","cr\rlf\r\n",""""\r\n')
  expect(formatCsvRow([' spaced ', "it's", 'semi;colon'])).toBe(" spaced ,it's,semi;colon\r\n")
})
