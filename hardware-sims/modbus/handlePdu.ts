import type { SitePhysics } from '../physics/sitePhysics.ts'
import type { RegisterImage, SimDevice } from '../devices/SimDevice.ts'
import { ModbusException } from '../devices/SunSpecImage.ts'

export type PduLog = (message: string) => void

/** An exception response PDU: the function code with its high bit set, then the code. */
export function exceptionPdu(functionCode: number, code: number): Buffer {
  return Buffer.from([(functionCode | 0x80) & 0xff, code])
}

/**
 * Answers one request PDU for one device: read holding/input registers (0x03/0x04),
 * write single (0x06) and multiple (0x10) registers. Everything else is Illegal Function.
 */
export function handlePdu(device: SimDevice, physics: SitePhysics, pdu: Buffer, log: PduLog, unitId?: number): Buffer {
  const fc = pdu[0] ?? 0
  const image = (unitId !== undefined && device.imageFor?.(unitId)) || device.image
  switch (fc) {
    case 0x03:
    case 0x04: {
      if (pdu.length !== 5) return exceptionPdu(fc, ModbusException.IllegalDataValue)
      const address = pdu.readUInt16BE(1)
      const count = pdu.readUInt16BE(3)
      if (count < 1 || count > 125) return exceptionPdu(fc, ModbusException.IllegalDataValue)
      const data = fc === 0x04 && image.readInput ? image.readInput(address, count) : image.read(address, count)
      if (!data) return exceptionPdu(fc, ModbusException.IllegalDataAddress)
      const out = Buffer.allocUnsafe(2 + data.length)
      out[0] = fc
      out[1] = data.length
      data.copy(out, 2)
      return out
    }
    case 0x06: {
      if (pdu.length !== 5) return exceptionPdu(fc, ModbusException.IllegalDataValue)
      const address = pdu.readUInt16BE(1)
      const rejected = write(device, image, physics, address, [pdu.readUInt16BE(3)], log)
      return rejected === null ? Buffer.from(pdu) : exceptionPdu(fc, rejected)
    }
    case 0x10: {
      if (pdu.length < 6) return exceptionPdu(fc, ModbusException.IllegalDataValue)
      const address = pdu.readUInt16BE(1)
      const count = pdu.readUInt16BE(3)
      const bytes = pdu[5]!
      if (count < 1 || count > 123 || bytes !== count * 2 || pdu.length !== 6 + bytes) return exceptionPdu(fc, ModbusException.IllegalDataValue)
      const values = Array.from({ length: count }, (_, i) => pdu.readUInt16BE(6 + i * 2))
      const rejected = write(device, image, physics, address, values, log)
      return rejected === null ? pdu.subarray(0, 5) : exceptionPdu(fc, rejected)
    }
    default:
      return exceptionPdu(fc, ModbusException.IllegalFunction)
  }
}

function write(device: SimDevice, image: RegisterImage, physics: SitePhysics, address: number, values: number[], log: PduLog): number | null {
  const decoded = image.decodeWrite(address, values)
  if (typeof decoded === 'number') {
    log(`${device.name}: write of ${values.length} register(s) at ${address} refused: not a writable point (exception ${decoded})`)
    return decoded
  }
  const rejected = device.applyWrites(decoded, physics)
  if (rejected) {
    log(`${device.name}: write refused: ${rejected.reason} (exception ${rejected.exception})`)
    return rejected.exception
  }
  image.commitWrite(address, values)
  log(`${device.name}: wrote ${decoded.map((w) => `${w.modelId}.${w.path}=${String(w.value)}`).join(', ')}`)
  return null
}
