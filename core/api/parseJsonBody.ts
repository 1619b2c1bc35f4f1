import { ApiRequestError } from './ApiRequestError.ts'

/** Deeper than any command needs; what matters is that nesting is bounded before anything walks it. */
export const maxJsonDepth = 32

/**
 * A request body parsed as JSON, refused with a 400 when it is not JSON or nests deeper
 * than `maxJsonDepth`: a 60 KB body of brackets is 30,000 levels, which recursive code
 * (validation, error formatting, serialisation) cannot walk without overflowing the stack.
 */
export function parseJsonBody(text: string, maxDepth = maxJsonDepth): unknown {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: the next character is escaped
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new ApiRequestError(400, `request body: nested deeper than ${maxDepth} levels at character ${i}`)
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ApiRequestError(400, `request body: not JSON (${(error as Error).message})`)
  }
}
