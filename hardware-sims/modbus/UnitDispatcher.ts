/** What a transport asks of the simulator: the answer to one request for one unit. */
export type Dispatch = {
  /** The response PDU, or null to stay silent (no-response fault, broadcast). */
  pdu: Buffer | null
  /** Hold the response this long (delay fault). */
  delayMs: number
}

export type UnitDispatcher = {
  dispatch(unitId: number, pdu: Buffer): Dispatch
  /** True while the refuse-connections fault is set on a device behind this endpoint. */
  refusesConnections(): boolean
  log(message: string): void
}
