import { DemoError } from './DemoError.ts'

/** Lets paused simulators run at `speed` (PUT /api/clock on each control API) at the same moment: the sites share one simulated now. */
export async function runSimulators(apiUrls: readonly string[], speed: number): Promise<void> {
  await Promise.all(
    apiUrls.map(async (url) => {
      const res = await fetch(`${url}/api/clock`, { method: 'PUT', body: JSON.stringify({ speed }) })
      if (!res.ok) throw new DemoError(`the simulator ${url} refused time warp ${speed}: ${await res.text()}`)
    }),
  )
}
