import { BaseError } from '../core/errors/BaseError.ts'
import { createSimClock, type SimClock } from './clock/createSimClock.ts'
import { createBattery } from './devices/createBattery.ts'
import { createInverter } from './devices/createInverter.ts'
import { createMeter } from './devices/createMeter.ts'
import { createProfileDevice } from './devices/createProfileDevice.ts'
import type { SimDevice } from './devices/SimDevice.ts'
import { ModbusException } from './devices/SunSpecImage.ts'
import { noFaults, type DeviceFaults } from './faults.ts'
import { createRtuServer, type RtuEndpoint } from './modbus/createRtuServer.ts'
import { createTcpServer, type TcpEndpoint } from './modbus/createTcpServer.ts'
import { exceptionPdu, handlePdu } from './modbus/handlePdu.ts'
import { garbleReply } from './modbus/garbleReply.ts'
import type { UnitDispatcher } from './modbus/UnitDispatcher.ts'
import { hashUnit } from './physics/clouds.ts'
import { loadVicElecShape } from './physics/loadVicElecShape.ts'
import { advanceSitePhysics, createSitePhysics, socPctOf, type SitePhysics } from './physics/sitePhysics.ts'
import type { DeviceConfig, SiteConfig } from './site/siteSchema.ts'
import { createControlApi, type ControlApi } from './api/createControlApi.ts'

export type ReadyLine = {
  event: 'ready'
  device: string
  kind: DeviceConfig['kind']
  transport: 'tcp' | 'rtu'
  host: string | null
  port: number | null
  path: string | null
  unitId: number
  sunspecBase: number
}

export type DeviceRuntime = {
  device: SimDevice
  faults: DeviceFaults
  endpoint: { tcp?: TcpEndpoint; rtu?: RtuEndpoint }
}

export type Simulator = {
  readonly site: SiteConfig
  readonly physics: SitePhysics
  readonly clock: SimClock
  readonly devices: Map<string, DeviceRuntime>
  readonly ready: ReadyLine[]
  readonly apiUrl: string
  /** The cloud seed: the sky and the weather forecast the API serves. */
  readonly seed: number
  /** Runs the physics up to the clock's target and refreshes every register image. */
  tick(): void
  /** Advances simulated time by hand (works paused or running). */
  advance(durationMs: number): void
  /** Recent events (control reverts, faults, refused writes), newest last. */
  recentEvents(): string[]
  close(): Promise<void>
}

export type StartSimulatorOptions = {
  speed?: number
  seed?: number
  startMs?: number
  /** Where log lines go (default stderr). */
  log?: (message: string) => void
  /** Real ms between physics ticks (default 50). */
  tickMs?: number
}

export class SimulatorStartError extends BaseError {
  override name = 'SimulatorStartError' as const
}

/**
 * Starts the simulator for a validated site: physics, one Modbus server per TCP port or
 * serial line (several unit IDs may share one), and the HTTP control API. Either all of
 * it starts or nothing stays open.
 */
export async function startSimulator(site: SiteConfig, options: StartSimulatorOptions = {}): Promise<Simulator> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${new Date().toISOString()} sim: ${message}\n`))
  const seed = options.seed ?? 1
  const startMs = options.startMs ?? (site.clock.start ? Date.parse(site.clock.start) : Date.now())
  const clock = createSimClock({ startMs, speed: options.speed ?? site.clock.speed })
  const physics = createSitePhysics(site, startMs)
  const shape = loadVicElecShape()
  const events: string[] = []
  const note = (message: string) => {
    events.push(`${new Date(physics.timeMs).toISOString()} ${message}`)
    if (events.length > 200) events.splice(0, events.length - 200)
    log(message)
  }

  let inverterIndex = 0
  let batteryIndex = 0
  const devices = new Map<string, DeviceRuntime>()
  for (const config of site.devices) {
    const device =
      config.profile ? createProfileDevice(config, site)
      : config.kind === 'inverter' ? createInverter(config, inverterIndex++)
      : config.kind === 'battery' ? createBattery(config, batteryIndex++)
      : createMeter(config, site)
    // Profile devices find their physics by name; SunSpec ones by position, so profile devices still take theirs.
    if (config.profile && config.kind === 'inverter') inverterIndex++
    if (config.profile && config.kind === 'battery') batteryIndex++
    devices.set(config.name, { device, faults: noFaults(), endpoint: {} })
  }

  const applyFaultsToPhysics = () => {
    for (const runtime of devices.values()) {
      const tripped = runtime.faults.tripped
      if (runtime.device.kind === 'inverter') physics.inverters.find((i) => i.config.name === runtime.device.name)!.tripped = tripped
      if (runtime.device.kind === 'battery') physics.batteries.find((b) => b.config.name === runtime.device.name)!.tripped = tripped
    }
  }

  const refresh = () => {
    for (const { device, faults } of devices.values()) {
      if (faults.frozen) continue
      device.refresh(physics)
      for (const ref of faults.sentinelPoints) {
        const [model, ...path] = ref.split('.')
        try {
          device.image.set(Number(model), path.join('.'), null)
        } catch {
          // Validated when the fault was set; a point the device lacks is ignored here.
        }
      }
    }
  }

  const tick = () => {
    applyFaultsToPhysics()
    const target = clock.targetMs()
    if (target > physics.timeMs) advanceSitePhysics(physics, site, shape, seed, target - physics.timeMs)
    for (const event of physics.events.splice(0)) note(event)
    refresh()
  }
  refresh()

  // On a serial line a frame for another unit is simply not ours; a TCP gateway answers 0x0B.
  // Answers counted per device, so the same seed and requests give the same garbage.
  const answered = new Map<DeviceRuntime, number>()
  const dispatcherFor = (units: Map<number, DeviceRuntime>, transport: 'tcp' | 'rtu'): UnitDispatcher => ({
    dispatch(unitId, pdu) {
      // Unit 0 (broadcast) and 255 ("this device" on TCP) reach the only device of a port.
      const runtime = units.get(unitId) ?? ((unitId === 0 || unitId === 255) && units.size === 1 ? [...units.values()][0] : undefined)
      if (!runtime) return { pdu: transport === 'rtu' ? null : exceptionPdu(pdu[0] ?? 0, ModbusException.GatewayTargetFailedToRespond), delayMs: 0 }
      const { faults, device } = runtime
      if (faults.noResponse) return { pdu: null, delayMs: 0 }
      if (faults.exceptionCode !== null) return { pdu: exceptionPdu(pdu[0] ?? 0, faults.exceptionCode), delayMs: faults.delayMs }
      if (faults.tripped && device.kind === 'meter') return { pdu: null, delayMs: 0 }
      const reply = handlePdu(device, physics, pdu, note, unitId)
      const n = (answered.get(runtime) ?? 0) + 1
      answered.set(runtime, n)
      if (faults.garbageFrames > 0 && hashUnit(seed, 0x6a09e667 + n) < faults.garbageFrames) return { pdu: garbleReply(pdu, reply, seed, n), delayMs: faults.delayMs }
      return { pdu: reply, delayMs: faults.delayMs }
    },
    refusesConnections() {
      return [...units.values()].some((r) => r.faults.refuseConnections)
    },
    log,
  })

  // Group devices by endpoint: one server per TCP host:port (0 = each its own) and per serial path.
  const tcpGroups = new Map<string, { host: string; port: number; units: Map<number, DeviceRuntime> }>()
  const rtuGroups = new Map<string, { options: Extract<DeviceConfig['transport'], { type: 'rtu' }>; units: Map<number, DeviceRuntime> }>()
  for (const runtime of devices.values()) {
    const t = runtime.device.config.transport
    if (t.type === 'tcp') {
      const key = t.port === 0 ? `${t.host}:0:${runtime.device.name}` : `${t.host}:${t.port}`
      const group = tcpGroups.get(key) ?? { host: t.host, port: t.port, units: new Map() }
      for (const unitId of [t.unitId, ...(runtime.device.unitIds ?? [])]) {
        if (group.units.has(unitId) && group.units.get(unitId) !== runtime) throw new SimulatorStartError(`device '${runtime.device.name}': unit ${unitId} on ${t.host}:${t.port} is taken by '${group.units.get(unitId)!.device.name}'`)
        group.units.set(unitId, runtime)
      }
      tcpGroups.set(key, group)
    } else {
      const group = rtuGroups.get(t.path) ?? { options: t, units: new Map() }
      if (group.options.baudRate !== t.baudRate || group.options.parity !== t.parity || group.options.stopBits !== t.stopBits) {
        throw new SimulatorStartError(`device '${runtime.device.name}': serial line ${t.path} is configured with different baud/parity/stop bits by another device`)
      }
      group.units.set(t.unitId, runtime)
      rtuGroups.set(t.path, group)
    }
  }

  const closers: (() => Promise<void>)[] = []
  let timer: NodeJS.Timeout | null = null
  let api: ControlApi | null = null
  const closeAll = async () => {
    if (timer) clearInterval(timer)
    timer = null
    await Promise.allSettled(closers.splice(0).map((close) => close()))
  }

  try {
    for (const group of tcpGroups.values()) {
      const names = [...group.units.values()].map((r) => r.device.name).join(', ')
      let endpoint: TcpEndpoint
      try {
        endpoint = await createTcpServer(group.host, group.port, dispatcherFor(group.units, 'tcp'))
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code
        const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'the address is not on this machine' : (cause as Error).message
        throw new SimulatorStartError(`device '${names}': cannot listen on ${group.host}:${group.port}: ${why}${code ? ` (${code})` : ''}`, { cause })
      }
      closers.push(() => endpoint.close())
      for (const runtime of group.units.values()) runtime.endpoint.tcp = endpoint
    }
    for (const group of rtuGroups.values()) {
      const names = [...group.units.values()].map((r) => r.device.name).join(', ')
      let endpoint: RtuEndpoint
      try {
        endpoint = await createRtuServer(group.options, dispatcherFor(group.units, 'rtu'))
      } catch (cause) {
        throw new SimulatorStartError(`device '${names}': cannot open serial line ${group.options.path}: ${(cause as Error).message}`, { cause })
      }
      closers.push(() => endpoint.close())
      for (const runtime of group.units.values()) runtime.endpoint.rtu = endpoint
    }
  } catch (error) {
    await closeAll()
    throw error
  }

  const ready: ReadyLine[] = [...devices.values()].map(({ device, endpoint }) => {
    const t = device.config.transport
    return {
      event: 'ready', device: device.name, kind: device.kind, transport: t.type,
      host: t.type === 'tcp' ? t.host : null,
      port: endpoint.tcp?.port ?? null,
      path: t.type === 'rtu' ? t.path : null,
      unitId: t.unitId,
      sunspecBase: device.config.sunspecBase,
    }
  })

  const simulator: Simulator = {
    site, physics, clock, devices, ready, seed,
    get apiUrl() {
      return api?.url ?? ''
    },
    tick,
    advance(durationMs) {
      clock.advance(durationMs)
      tick()
    },
    recentEvents: () => [...events],
    close: closeAll,
  }

  try {
    api = await createControlApi(simulator, { host: site.api.host, port: site.api.port, log: note })
  } catch (cause) {
    await closeAll()
    const code = (cause as NodeJS.ErrnoException).code
    throw new SimulatorStartError(`control API: cannot listen on ${site.api.host}:${site.api.port}: ${code === 'EADDRINUSE' ? 'the address is already in use' : (cause as Error).message}${code ? ` (${code})` : ''}`, { cause })
  }
  closers.push(() => api!.close())
  timer = setInterval(tick, options.tickMs ?? 50)
  return simulator
}

/** A JSON-friendly picture of the simulator for the API and logs. */
export function describeSimulator(sim: Simulator) {
  const p = sim.physics
  const pvW = p.inverters.reduce((s, i) => s + i.powerW, 0)
  return {
    site: sim.site.name,
    timeMs: p.timeMs,
    time: new Date(p.timeMs).toISOString(),
    speed: sim.clock.speed,
    paused: sim.clock.speed === 0,
    powerW: { load: p.loadW, pv: pvW, battery: p.batteries.reduce((s, b) => s + b.powerW, 0), grid: p.gridW },
    clearness: p.clearness,
    energyWh: {
      ...p.energy,
      batteryCharge: p.batteries.reduce((s, b) => s + b.chargedWh, 0),
      batteryDischarge: p.batteries.reduce((s, b) => s + b.dischargedWh, 0),
    },
    devices: [...sim.devices.values()].map(({ device, faults }) => {
      const inv = p.inverters.find((i) => i.config.name === device.name)
      const bat = p.batteries.find((b) => b.config.name === device.name)
      return {
        name: device.name,
        kind: device.kind,
        faults,
        ...(inv && { powerW: inv.powerW, availableW: inv.availableW, limitPct: inv.limitPct?.value ?? null, connected: inv.connected, energyWh: inv.energyWh }),
        ...(bat && {
          powerW: bat.powerW, socPct: socPctOf(bat), storedWh: bat.storedWh, setpointW: bat.setpointW?.value ?? null,
          chargeLimitPct: bat.chargeLimitPct?.value ?? null, dischargeLimitPct: bat.dischargeLimitPct?.value ?? null,
          connected: bat.connected, chargedWh: bat.chargedWh, dischargedWh: bat.dischargedWh, cellInWh: bat.cellInWh, cellOutWh: bat.cellOutWh,
        }),
        ...(device.kind === 'meter' && { powerW: p.gridW, importWh: p.energy.gridImportWh, exportWh: p.energy.gridExportWh }),
      }
    }),
  }
}
