import { createModbusClient, type ModbusClient } from '../modbus/createModbusClient.ts'
import { connectionKey, type Connection } from '../modbus/createConnectionPool.ts'
import { createRtuTransport } from '../modbus/createRtuTransport.ts'
import { createTcpTransport } from '../modbus/createTcpTransport.ts'
import { ModbusConnectionError, ModbusExceptionError, ModbusTimeoutError } from '../modbus/errors.ts'
import { createSunSpecDriver } from '../sunspec/createSunSpecDriver.ts'
import { discoverSunSpec } from '../sunspec/readSunSpecDevice.ts'
import type { DeviceDriver } from '../capabilities.ts'
import { bundledDriverRegistry } from '../bundledDriverRegistry.ts'
import type { Profile } from '../profiles/profileSchema.ts'

/**
 * A unit that answers Modbus but has no SunSpec map: try every bundled profile. A profile
 * matches when all its points read without an exception and its key values are plausible
 * (grid frequency 45-65 Hz, SoC 0-100 %); the first profile (by id) that matches wins.
 */
async function matchProfile(client: ModbusClient, unitId: number): Promise<{ profile: Profile; driver: DeviceDriver } | null> {
  const { registry, profiles } = bundledDriverRegistry()
  for (const profile of profiles) {
    const driver = await registry.create(profile.id, { name: `unit-${unitId}`, client, unitId })
    try {
      const points = await driver.readAll()
      if (points.filter((p) => p.value !== null).length < Math.ceil(points.length / 2)) continue
      if (driver.meter) {
        const hz = (await driver.meter.readMeter()).frequencyHz
        if (hz !== null && (hz < 45 || hz > 65)) continue
      }
      if (driver.battery) {
        const soc = (await driver.battery.readBattery()).socPct
        if (soc === null || soc < 0 || soc > 100) continue
      }
      return { profile, driver }
    } catch {
      continue // an exception or a timeout: not this device
    }
  }
  return null
}

export type ScanTarget = { connection: Connection; unitIds: readonly number[] }

export type Reading = { name: string; value: number | null; units: string }

export type InventoryItem = {
  /** A suggested device name (kind and address). */
  device: string
  kind: 'inverter' | 'battery' | 'meter' | 'unknown'
  transport: 'tcp' | 'rtu'
  address: string
  connection: Connection
  unitId: number
  /** `sunspec`, `profile:<id>`, or null when nothing matched. */
  driver: string | null
  sunspecBase: number | null
  models: number[]
  /** Models without a definition here: listed, not decoded. */
  unknownModels: number[]
  manufacturer: string | null
  model: string | null
  serialNumber: string | null
  version: string | null
  readings: Reading[]
  /** Why an answering unit could not be identified, else null. */
  problem: string | null
}

export type EndpointResult = { address: string; status: 'open' | 'closed'; detail: string | null; unitsProbed: number; unitsFound: number }

export type ScanResult = { devices: InventoryItem[]; endpoints: EndpointResult[]; durationMs: number }

export type ScanOptions = {
  targets: readonly ScanTarget[]
  /** Per-request timeout; keep it short, absent units are the common case (default 150 ms). */
  timeoutMs?: number
  /** Endpoints probed at once (default 16); the units of one endpoint are always sequential. */
  concurrency?: number
  onProgress?: (message: string) => void
}

async function keyReadings(driver: DeviceDriver): Promise<Reading[]> {
  const out: Reading[] = []
  if (driver.meter) {
    const m = await driver.meter.readMeter()
    out.push({ name: 'gridPowerW', value: m.powerW, units: 'W' }, { name: 'importWh', value: m.importWh, units: 'Wh' }, { name: 'exportWh', value: m.exportWh, units: 'Wh' }, { name: 'frequencyHz', value: m.frequencyHz, units: 'Hz' })
  }
  if (driver.pv) {
    const p = await driver.pv.readPv()
    out.push({ name: 'pvPowerW', value: p.powerW, units: 'W' }, { name: 'pvEnergyWh', value: p.energyWh, units: 'Wh' }, { name: 'ratedW', value: driver.pv.ratedW, units: 'W' })
  }
  if (driver.battery) {
    const b = await driver.battery.readBattery()
    out.push({ name: 'batteryPowerW', value: b.powerW, units: 'W' }, { name: 'socPct', value: b.socPct, units: '%' })
  }
  return out
}

async function probeUnit(client: ModbusClient, connection: Connection, unitId: number, timeoutMs: number): Promise<InventoryItem | null> {
  const address = connection.type === 'tcp' ? `${connection.host}:${connection.port}` : connection.path
  let discovery
  try {
    discovery = await discoverSunSpec(client, unitId, { timeoutMs, retries: 0 })
  } catch (error) {
    // Silence or a gateway's "target failed to respond": nobody is at this unit ID.
    if (error instanceof ModbusTimeoutError || (error instanceof ModbusExceptionError && (error.code === 10 || error.code === 11))) return null
    throw error
  }
  const base: Omit<InventoryItem, 'device' | 'kind'> = {
    transport: connection.type, address, connection, unitId, driver: null, sunspecBase: null, models: [], unknownModels: [],
    manufacturer: null, model: null, serialNumber: null, version: null, readings: [], problem: null,
  }
  const port = connection.type === 'tcp' ? String(connection.port) : connection.path.replace(/[^A-Za-z0-9]+/g, '')
  if (!discovery) {
    const match = await matchProfile(client, unitId)
    if (!match) return { ...base, device: `unknown-${address.replace(/[^A-Za-z0-9]+/g, '-')}-${unitId}`, kind: 'unknown', problem: 'answers Modbus but has no SunSpec map at 40000, 50000 or 0, and matches no profile' }
    const kind = match.driver.pv ? 'inverter' : match.driver.battery ? 'battery' : match.driver.meter ? 'meter' : 'unknown'
    let readings: Reading[] = []
    let problem: string | null = null
    try {
      readings = await keyReadings(match.driver)
    } catch (error) {
      problem = `identified, but reading its values failed: ${(error as Error).message}`
    }
    return { ...base, device: `${kind}-${port}-${unitId}`, kind, driver: `profile:${match.profile.id}`, manufacturer: match.profile.manufacturer, model: match.profile.products[0] ?? null, readings, problem }
  }
  const driver = await createSunSpecDriver({ name: `unit-${unitId}`, client, unitId, discovery })
  const kind = driver.pv ? 'inverter' : driver.battery ? 'battery' : driver.meter ? 'meter' : 'unknown'
  let readings: Reading[] = []
  let problem: string | null = null
  try {
    readings = await keyReadings(driver)
  } catch (error) {
    problem = `identified, but reading its values failed: ${(error as Error).message}`
  }
  return {
    ...base, device: `${kind}-${port}-${unitId}`, kind, driver: 'sunspec', sunspecBase: discovery.base,
    models: discovery.models.filter((m) => m.known).map((m) => m.id), unknownModels: discovery.models.filter((m) => !m.known).map((m) => m.id),
    manufacturer: driver.identity.manufacturer, model: driver.identity.model, serialNumber: driver.identity.serialNumber, version: driver.identity.version,
    readings, problem,
  }
}

/**
 * Finds Modbus devices: endpoints concurrently (bounded), the unit IDs of one endpoint in
 * order on its one connection. A refused endpoint is skipped at once; an absent unit costs
 * one short timeout (or nothing, where a gateway answers exception 0x0B).
 */
export async function scanDevices({ targets, timeoutMs = 150, concurrency = 16, onProgress = () => {} }: ScanOptions): Promise<ScanResult> {
  const started = performance.now()
  const devices: InventoryItem[] = []
  const endpoints: EndpointResult[] = []
  let next = 0
  let done = 0
  const worker = async () => {
    for (let i = next++; i < targets.length; i = next++) {
      const { connection, unitIds } = targets[i]!
      const address = connectionKey(connection)
      const transport = connection.type === 'tcp'
        ? createTcpTransport({ ...connection, connectTimeoutMs: Math.max(timeoutMs, connection.connectTimeoutMs ?? 1000), reconnectBackoffMs: 1, maxReconnectBackoffMs: 1 })
        : createRtuTransport(connection)
      const client = createModbusClient(transport, { timeoutMs, retries: 0, defectiveAfterFailures: Number.MAX_SAFE_INTEGER })
      const result: EndpointResult = { address, status: 'open', detail: null, unitsProbed: 0, unitsFound: 0 }
      try {
        for (const unitId of unitIds) {
          result.unitsProbed++
          let item: InventoryItem | null
          try {
            item = await probeUnit(client, connection, unitId, timeoutMs)
          } catch (error) {
            if (error instanceof ModbusConnectionError) {
              result.status = 'closed'
              result.detail = error.shortMessage
              break
            }
            item = null
            onProgress(`scan: ${address} unit ${unitId}: ${(error as Error).message}`)
          }
          if (item) {
            result.unitsFound++
            devices.push(item)
            onProgress(`scan: ${address} unit ${unitId}: ${item.kind} ${item.manufacturer ?? ''} ${item.model ?? ''}`.trimEnd())
          }
        }
      } finally {
        await client.close()
      }
      endpoints.push(result)
      onProgress(`scan: ${++done}/${targets.length} endpoints done (${address}: ${result.status}, ${result.unitsFound} device(s))`)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, targets.length)) }, worker))
  const order = (a: { address: string }, b: { address: string }) => a.address.localeCompare(b.address, 'en', { numeric: true })
  devices.sort((a, b) => order(a, b) || a.unitId - b.unitId)
  endpoints.sort(order)
  return { devices, endpoints, durationMs: performance.now() - started }
}
