export const views = ['overview', 'trends', 'forecast', 'plan', 'market', 'alarms', 'devices', 'simulator', 'settings', 'audit'] as const
export type ViewName = (typeof views)[number]
export type Route = { view: ViewName; detail: string | null }

/** `#/devices/battery` -> devices view, detail "battery"; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const [, view, ...rest] = hash.replace(/^#/, '').split('/')
  const known = views.find((v) => v === view)
  return { view: known ?? 'overview', detail: known && rest.length ? decodeURIComponent(rest.join('/')) : null }
}
