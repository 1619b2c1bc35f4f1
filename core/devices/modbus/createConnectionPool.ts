import { createModbusClient, type ModbusClient, type ModbusClientOptions } from './createModbusClient.ts'
import { createRtuTransport } from './createRtuTransport.ts'
import { createTcpTransport } from './createTcpTransport.ts'

export type Connection =
  | { type: 'tcp'; host: string; port: number; connectTimeoutMs?: number; connectDelayMs?: number }
  | { type: 'rtu'; path: string; baudRate: number; parity?: 'none' | 'even' | 'odd'; stopBits?: 1 | 2 }

export function connectionKey(c: Connection): string {
  return c.type === 'tcp' ? `tcp://${c.host}:${c.port}` : `rtu:${c.path}`
}

/**
 * One client per endpoint, shared by every unit ID behind it: a gateway or a serial
 * bus gets one connection and one request queue, however many devices it carries
 * (many devices accept a single TCP client only).
 */
export function createConnectionPool(options: ModbusClientOptions & { log?: (message: string) => void } = {}) {
  const clients = new Map<string, ModbusClient>()
  return {
    get(connection: Connection): ModbusClient {
      const key = connectionKey(connection)
      let client = clients.get(key)
      if (!client) {
        const transport = connection.type === 'tcp'
          ? createTcpTransport({ ...connection, log: options.log })
          : createRtuTransport({ ...connection, log: options.log })
        client = createModbusClient(transport, options)
        clients.set(key, client)
      }
      return client
    },
    async close(): Promise<void> {
      await Promise.all([...clients.values()].map((c) => c.close()))
      clients.clear()
    },
  }
}
