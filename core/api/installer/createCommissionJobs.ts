import { randomUUID } from 'node:crypto'
import { parse } from 'yaml'
import { commissionSite, type CommissioningReport } from '../../devices/commission/commissionSite.ts'
import { renderReportHtml } from '../../devices/commission/renderReportHtml.ts'
import { connectionKey, createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { siteFileSchema, type SiteFile } from '../../devices/site/siteFileSchema.ts'
import { describeZodIssue, formatIssuePath } from '../../errors/describeZodIssue.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import type { CommissionCommand, CommissionJob } from '../contract.ts'

export type CommissionJobsOptions = {
  /** The running site's devices: commissioning them with test writes races the control loop, which the report must say. */
  controlled?: SiteFile['devices']
  /** Finished reports kept (oldest dropped first; default 20). */
  keep?: number
  wallNow?: () => number
}

/**
 * Commissioning from the HMI: `start` validates the site file text and runs
 * commissionSite (plausibility checks, verified and reverted test writes) in the
 * background, one at a time; `get` answers its state and, when done, the report
 * (JSON, or the same HTML as `gridmesh commission`).
 */
export function createCommissionJobs(options: CommissionJobsOptions = {}) {
  const keep = options.keep ?? 20
  const wallNow = options.wallNow ?? Date.now
  const jobs = new Map<string, CommissionJob>()
  let active: Promise<void> | null = null

  function parseSite(text: string): SiteFile {
    let input: unknown
    try {
      // aliases bounded: a small text must not expand into a huge document
      input = parse(text, { maxAliasCount: 100 })
    } catch (error) {
      throw new ApiRequestError(400, `request body: siteYaml: not YAML (${(error as Error).message.split('\n')[0]})`, 'siteYaml')
    }
    const parsed = siteFileSchema.safeParse(input)
    if (!parsed.success) {
      const first = parsed.error.issues[0]!
      throw new ApiRequestError(400, `request body: siteYaml: ${parsed.error.issues.map((i) => describeZodIssue(i, input)).join('; ')}`, `siteYaml.${formatIssuePath(first.path)}`)
    }
    return parsed.data
  }

  return {
    start(command: CommissionCommand): CommissionJob {
      if (active) throw new ApiRequestError(409, 'commission: a commissioning run is in progress; wait for its report')
      const site = parseSite(command.siteYaml)
      const readOnly = command.readOnly ?? false
      const controlled = new Set((options.controlled ?? []).map((d) => `${connectionKey(d.connection)}#${d.unitId}`))
      const shared = site.devices.filter((d) => controlled.has(`${connectionKey(d.connection)}#${d.unitId}`)).map((d) => d.name)
      const warnings = shared.length && !readOnly ? [`the running site also commands ${shared.join(', ')}: its control loop may overwrite a test write while it is watched (that check then fails); commission read-only, or with the site in manual mode`] : []
      const job: CommissionJob = { id: randomUUID(), site: site.name, readOnly, status: 'running', startedAtMs: wallNow(), finishedAtMs: null, warnings, error: null, report: null }
      jobs.set(job.id, job)
      for (const id of [...jobs.keys()].slice(0, Math.max(0, jobs.size - keep))) if (jobs.get(id)!.status !== 'running') jobs.delete(id)
      const pool = createConnectionPool({ timeoutMs: Math.max(...site.devices.map((d) => d.timeoutMs), 500) })
      active = commissionSite({ site, pool, readOnly, ...(command.observeMs !== undefined && { observeMs: command.observeMs }) })
        .then(
          (report: CommissioningReport) => Object.assign(job, { status: 'done', report }),
          (error: unknown) => Object.assign(job, { status: 'failed', error: (error as Error).message }),
        )
        .then(() => undefined)
        .finally(async () => {
          job.finishedAtMs = wallNow()
          await pool.close().catch(() => undefined)
          active = null
        })
      return { ...job }
    },
    get(id: string): CommissionJob {
      const job = jobs.get(id)
      if (!job) throw new ApiRequestError(404, `no commissioning run '${id.slice(0, 64)}'; runs kept: ${[...jobs.keys()].join(', ') || 'none'}`)
      return job
    },
    html(id: string): string {
      const job = this.get(id)
      if (!job.report) throw new ApiRequestError(409, `commissioning run ${id} is ${job.status}; the report exists once it is done`)
      return renderReportHtml(job.report)
    },
    list: (): CommissionJob[] => [...jobs.values()].map((j) => ({ ...j, report: null })),
    /** Resolves when the running commissioning (if any) has finished (tests, shutdown). */
    idle: () => active ?? Promise.resolve(),
  }
}
