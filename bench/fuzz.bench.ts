// The full fuzz run (issue 11): 1,000,000 generated inputs for each Modbus parser (TCP
// and RTU, client and server, the pure framing functions the transports use) and fewer
// for the others (site files, profiles, load CSVs, plan inputs, the market's lines,
// orders and readings, the HMI API through a real server). The CI tests in test/fuzz run
// the same generators and checks a few thousand times.
//
// Each target runs in its own process with a 256 MB heap: its peak RSS is its own, memory
// that grows with the input count ends in an out-of-memory crash (counted), and a target
// that stops reporting progress for 60 s is a hang (killed, counted). Inside, an input whose check
// throws is a crash: counted, and the first few kept with fast-check's replay path.
// Seed: GRIDMESH_FUZZ_SEED (default 20261202, as in CI). Counts: FUZZ_SCALE multiplies
// them (0.01 for a quick look).
// Last stdout line: {"bench":"fuzz","results":{...},"targets":{...}}
import { spawn } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { fuzzSeed } from '../test/fuzz/fuzzSeed.ts'
import type { FuzzTarget } from '../test/fuzz/modbusFuzzTargets.ts'

// Each child imports only its target's modules, so its peak RSS is the parser's, not the whole app's.
const modbusNames = ['modbus-tcp-client', 'modbus-rtu-client', 'modbus-tcp-server', 'modbus-rtu-server']

const scale = Number(process.env.FUZZ_SCALE ?? 1)
const MODBUS_INPUTS = Math.round(1_000_000 * scale)
const counts: Record<string, number> = {
  ...Object.fromEntries(modbusNames.map((name) => [name, MODBUS_INPUTS])),
  'site-file': Math.round(5_000 * scale),
  'sim-site-file': Math.round(5_000 * scale),
  'device-profile': Math.round(20_000 * scale),
  'load-csv': Math.round(20_000 * scale),
  'plan-input': Math.round(50_000 * scale),
  'market-orders-readings': Math.round(50_000 * scale),
  'api-http': Math.round(5_000 * scale),
  'plan-solve': Math.round(1_000 * scale),
}
const hangAfterMs = 60_000
const heapLimitMb = 256
const progressEvery = 10_000

/** slowestInputMs: the longest time between two inputs (generation and check; wall time on a shared machine). */
type ChildResult = { target: string; inputs: number; crashes: number; examples: { error: string; input: string }[]; maxRssMb: number; seconds: number; slowestInputMs: number }

/** In a child: runs one target's inputs, printing progress, then one JSON line. */
async function runChild(name: string, runs: number, seed: number): Promise<void> {
  const started = performance.now()
  let inputs = 0
  let crashes = 0
  const examples: { error: string; input: string }[] = []
  const crashed = (error: unknown, input?: unknown) => {
    crashes++
    if (examples.length < 5) examples.push({ error: String((error as Error)?.stack ?? error).slice(0, 600), input: `#${inputs}${input === undefined ? '' : `: ${fc.stringify(input).slice(0, 400)}`}` })
  }
  // Progress at most once a second (and at least every 10,000 inputs' check): the parent's watchdog needs a sign of life, not a flood.
  let lastProgressMs = performance.now()
  let inputStartedMs = performance.now()
  let slowestInputMs = 0
  const tick = () => {
    const now = performance.now()
    if (inputs > 0 && now - inputStartedMs > slowestInputMs) slowestInputMs = now - inputStartedMs
    inputStartedMs = now
    inputs++
    if (inputs % progressEvery === 0 || now - lastProgressMs > 1000) {
      lastProgressMs = now
      process.stdout.write(`progress ${inputs}\n`)
    }
  }
  if (name === 'api-http') {
    const { createApiServer } = await import('../core/api/createApiServer.ts')
    const { rawGet, statusOf } = await import('../test/support/rawHttp.ts')
    const { backend, bearer, commandBody, pathAndQuery, requestHead, sendAndEnd, token } = await import('../test/fuzz/apiFuzzInputs.ts')
    const logged: string[] = []
    const api = await createApiServer({ backend, site: { name: 'fuzz', timeZone: 'UTC', devices: [] }, token, log: (m) => logged.push(m) })
    const request = fc.oneof(
      commandBody.map((text) => ({ kind: 'command' as const, text })),
      pathAndQuery.map((path) => ({ kind: 'path' as const, text: path })),
      requestHead.map((text) => ({ kind: 'head' as const, text })),
    )
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        tick()
        try {
          const answer = r.kind === 'command' ? await rawGet(api.port, '/api/commands', { ...bearer, 'content-type': 'application/json' }, 'POST', r.text) : r.kind === 'path' ? await rawGet(api.port, r.text, bearer) : await sendAndEnd(api.port, r.text)
          const status = statusOf(answer)
          if (status >= 500 || (r.kind !== 'head' && status === 0)) crashed(new Error(`${r.kind} ${r.text.slice(0, 100)}: answered ${answer.slice(0, 200)}`))
        } catch (error) {
          crashed(error)
        }
      }),
      { seed, numRuns: runs },
    )
    if (statusOf(await rawGet(api.port, '/api/state', bearer)) !== 200) crashed(new Error('the API stopped serving'))
    await api.close()
  } else if (name === 'plan-solve') {
    const { checkPlanSolve, planSolveInput } = await import('../test/fuzz/planSolveFuzz.ts')
    await fc.assert(
      fc.asyncProperty(planSolveInput, async (input) => {
        tick()
        try {
          await checkPlanSolve(input)
        } catch (error) {
          crashed(error, input)
        }
      }),
      { seed, numRuns: runs },
    )
  } else {
    const targets = modbusNames.includes(name) ? (await import('../test/fuzz/modbusFuzzTargets.ts')).modbusTargets : (await import('../test/fuzz/inputFuzzTargets.ts')).inputTargets
    const target = (targets as readonly FuzzTarget<unknown>[]).find((t) => t.name === name)
    if (!target) throw new Error(`no fuzz target '${name}'`)
    fc.assert(
      fc.property(target.arbitrary, (input) => {
        tick()
        try {
          target.check(input)
        } catch (error) {
          crashed(error, input)
        }
      }),
      { seed, numRuns: runs },
    )
  }
  const result: ChildResult = { target: name, inputs, crashes, examples, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), seconds: Math.round((performance.now() - started) / 100) / 10, slowestInputMs: Math.round(slowestInputMs) }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

/** In the parent: one child per target, with a watchdog on its progress. */
function runTarget(name: string, runs: number): Promise<ChildResult & { hangs: number }> {
  return new Promise((resolve) => {
    const self = fileURLToPath(import.meta.url)
    const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url))
    // A capped heap: V8 grows lazily up to its default limit, so peak RSS alone cannot tell a
    // leak from garbage not yet collected; with 256 MB a leak ends in an out-of-memory crash.
    const child = spawn(process.execPath, [`--max-old-space-size=${heapLimitMb}`, runTs, self, '--target', name, '--runs', String(runs), '--seed', String(fuzzSeed)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let last = ''
    let progress = 0
    let hung = false
    let watchdog = setTimeout(onHang, hangAfterMs)
    function onHang() {
      hung = true
      child.kill('SIGKILL')
    }
    let buffered = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (text: string) => {
      buffered += text
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('progress ')) {
          progress = Number(line.slice(9))
          clearTimeout(watchdog)
          watchdog = setTimeout(onHang, hangAfterMs)
        } else if (line.trim()) last = line
      }
    })
    child.on('close', (code) => {
      clearTimeout(watchdog)
      let result: ChildResult
      try {
        result = JSON.parse(last) as ChildResult
      } catch {
        result = { target: name, inputs: progress, crashes: hung ? 0 : 1, examples: hung ? [] : [{ error: `the process exited with ${code}: ${last.slice(0, 300)}`, input: '' }], maxRssMb: 0, seconds: 0, slowestInputMs: 0 }
      }
      resolve({ ...result, hangs: hung ? 1 : 0 })
    })
  })
}

const argv = process.argv.slice(2)
if (argv[0] === '--target') {
  await runChild(argv[1]!, Number(argv[3]), Number(argv[5]))
} else {
  const started = performance.now()
  const perTarget: Record<string, Omit<ChildResult, 'target'> & { hangs: number }> = {}
  for (const [name, runs] of Object.entries(counts)) {
    process.stderr.write(`fuzz: ${name}: ${runs} inputs, seed ${fuzzSeed} ...\n`)
    const { target: _target, ...result } = await runTarget(name, runs)
    perTarget[name] = result
    process.stderr.write(`fuzz: ${name}: ${result.inputs} inputs, ${result.crashes} crashes, ${result.hangs} hangs, peak RSS ${result.maxRssMb} MB, ${result.seconds} s\n`)
  }
  const all = Object.values(perTarget)
  const results = {
    seed: fuzzSeed,
    targets: perTarget,
    inputs: all.reduce((s, r) => s + r.inputs, 0),
    crashes: all.reduce((s, r) => s + r.crashes, 0),
    hangs: all.reduce((s, r) => s + r.hangs, 0),
    peakRssMb: Math.max(...all.map((r) => r.maxRssMb)),
    heapLimitMb,
    seconds: Math.round((performance.now() - started) / 1000),
    loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    cpus: cpus().length,
  }
  const minModbus = Math.min(...modbusNames.map((name) => perTarget[name]?.inputs ?? 0))
  const targets = {
    crashes: { max: 0, value: results.crashes, met: results.crashes === 0 },
    hangs: { max: 0, value: results.hangs, met: results.hangs === 0 },
    modbusInputsPerParser: { min: 1_000_000, value: minModbus, met: minModbus >= 1_000_000 },
    peakRssMb: { max: 512, value: results.peakRssMb, met: results.peakRssMb <= 512 },
  }
  process.stdout.write(`${JSON.stringify({ bench: 'fuzz', results, targets })}\n`)
  process.exitCode = results.crashes === 0 && results.hangs === 0 ? 0 : 1
}
