// The broker for one machine and the demo: aedes in this process on 127.0.0.1, an
// ephemeral port unless one is asked for, sessions and retained messages in memory.
import { createServer, type AddressInfo } from 'node:net'
import { Aedes, type AuthenticateError } from 'aedes'
import { BaseError } from '../../errors/BaseError.ts'
import { authorizeTopic } from './authorizeTopic.ts'
import type { MarketTopics } from './marketTopics.ts'

/** The embedded broker could not listen. */
export class EmbeddedBrokerError extends BaseError {
  override name = 'EmbeddedBrokerError' as const
}

export type StartEmbeddedBrokerParameters = {
  host?: string
  /** 0 (default): an ephemeral port */
  port?: number
  /** user name -> password; when given, only these may connect and the protocol's ACL applies to `topics` */
  users?: Record<string, string>
  topics?: MarketTopics
}

export type EmbeddedBroker = {
  url: string
  port: number
  /** closes every client connection and the listener */
  close(): Promise<void>
}

/** Starts an in-process MQTT 3.1.1 broker (aedes). */
export async function startEmbeddedBroker({ host = '127.0.0.1', port = 0, users, topics }: StartEmbeddedBrokerParameters = {}): Promise<EmbeddedBroker> {
  if (users && !topics) throw new EmbeddedBrokerError('embedded broker: users given without the community topics; expected both, so the ACL has a community to apply to')
  const broker = await Aedes.createBroker({
    // the protocol's client ids name the community (MQTT 3.1.1 sets no limit; aedes defaults to 3.1's 23)
    maxClientsIdLength: 256,
    ...(users
      ? {
          authenticate: (client, username, password, done) => {
            if (username !== undefined && Object.hasOwn(users, username) && password?.toString('utf8') === users[username]) {
              // who the client authenticated as, for the ACL below
              ;(client as { user?: string }).user = username
              return done(null, true)
            }
            const error = Object.assign(new Error('bad user name or password'), { returnCode: 4 }) as AuthenticateError
            done(error, false)
          },
          authorizePublish: (client, packet, callback) => {
            // the broker's own publications (last wills arrive with their client) are checked like the client's
            const refused = authorizeTopic(topics!, (client as { user?: string } | null)?.user, 'publish', packet.topic, packet.payload.length)
            callback(refused ? new Error(refused) : null)
          },
          authorizeSubscribe: (client, subscription, callback) => {
            const refused = authorizeTopic(topics!, (client as { user?: string }).user, 'subscribe', subscription.topic)
            callback(refused ? new Error(refused) : null, refused ? null : subscription)
          },
        }
      : {}),
  })
  const server = createServer(broker.handle)
  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolveListen()
      })
    })
  } catch (cause) {
    await new Promise<void>((r) => broker.close(() => r()))
    throw new EmbeddedBrokerError(`embedded broker: cannot listen on ${host}:${port}: ${(cause as Error).message}; expected a free port (0 picks one)`, { cause })
  }
  const bound = (server.address() as AddressInfo).port
  return {
    url: `mqtt://${host}:${bound}`,
    port: bound,
    async close() {
      await new Promise<void>((r) => broker.close(() => r()))
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
