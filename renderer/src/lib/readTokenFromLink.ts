const key = 'gridmesh-token'

/**
 * The local owner's token from a `#token=…` link (kept for this tab only, and removed
 * from the address bar so it is not bookmarked or shown on a screen share). Servers
 * with sessions sign in with a one-time link and a cookie instead; this stays for the
 * token the service writes to <data>/api-token.
 */
export function readTokenFromLink(loc: Pick<Location, 'hash' | 'pathname' | 'search'>, hist: Pick<History, 'replaceState'>, storage: Pick<Storage, 'getItem' | 'setItem'>): string | null {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(loc.hash)
  if (match?.[1]) {
    storage.setItem(key, match[1])
    hist.replaceState(null, '', `${loc.pathname}${loc.search}#/overview`)
    return match[1]
  }
  return storage.getItem(key)
}
