/** An RPC URL fit for a message: user, password and query (where providers put API keys) replaced by `***`. */
export function redactRpcUrl(rpcUrl: string): string {
  let url: URL
  try {
    url = new URL(rpcUrl)
  } catch {
    return '(not a URL)'
  }
  if (url.username) url.username = '***'
  if (url.password) url.password = '***'
  if (url.search) url.search = '?***'
  const text = url.toString()
  // URL adds a '/' path to a bare origin; keep the text as the user wrote it
  return text.endsWith('/') && !rpcUrl.endsWith('/') ? text.slice(0, -1) : text
}
