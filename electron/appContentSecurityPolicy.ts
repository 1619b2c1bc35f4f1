/**
 * The window's policy: the app's own scripts and styles only, no inline script, no
 * network at all (the API goes over IPC, so connect-src is 'none'), no plugins, never
 * framed, no <base> rewrite, no forms posting anywhere.
 */
export const appContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'"
