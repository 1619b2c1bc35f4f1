import { z } from 'zod'

/**
 * Where a site's live market messages go: any MQTT 3.1.1/5 broker. The site file's
 * `market.broker` is meant to take this shape (not wired yet; see README.md).
 */
export const brokerSettingsSchema = z.strictObject({
  /** mqtt://host:port, mqtts:// (TLS), ws:// or wss:// */
  url: z.string().min(1),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  /** PEM files, relative to the site file's folder: the CA that signed the broker's certificate, and the site's client certificate and key (both or neither) */
  caFile: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
})

export type BrokerSettings = z.infer<typeof brokerSettingsSchema>
