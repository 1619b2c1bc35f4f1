import { ApiError } from '../transport/ApiError.ts'

/**
 * A refused command as messages by form field: the server names the field's body path
 * (`grid.maxImportW`, `setpointW`); the message goes next to that field, and anything
 * without a field (a 403, a network error) under the form's own key ''.
 */
export function fieldErrors(error: unknown, prefix = ''): Record<string, string> {
  if (!(error instanceof ApiError)) return { '': (error as Error).message }
  const field = error.field?.startsWith(prefix) ? error.field.slice(prefix.length) : error.field
  return { [field ?? '']: error.message }
}
