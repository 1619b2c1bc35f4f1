import type { LiveMarketStatus } from '../transport/apiTypes.ts'

type DropReason = Exclude<keyof LiveMarketStatus['counters'], 'accepted'>

/**
 * The validator's drop reasons (core/market/PROTOCOL.md, "What a receiver checks"), in its
 * order, with what each means for an operator and whether a count of it needs a look:
 * `attack` a message someone should not have sent, `fault` a peer or link problem, `benign` harmless.
 */
export const dropReasons: readonly { reason: DropReason; concern: 'attack' | 'fault' | 'benign'; meaning: string }[] = [
  { reason: 'forged', concern: 'attack', meaning: 'signed by a key the on-chain registry does not name for that site (or an unknown or inactive site, or a bad signature)' },
  { reason: 'replayed', concern: 'attack', meaning: 'an old message sent again: its interval is already cleared or settled' },
  { reason: 'conflicting', concern: 'attack', meaning: 'a second, different message signed by one key for the same interval; kept as evidence for a dispute' },
  { reason: 'late', concern: 'fault', meaning: 'arrived after its validity deadline (a slow peer or link, or a clock off)' },
  { reason: 'unverified', concern: 'fault', meaning: 'the chain could not be read to check the signer (RPC down); not counted as forged' },
  { reason: 'malformed', concern: 'fault', meaning: 'not JSON, not the protocol schema, or its topic disagrees with its body' },
  { reason: 'oversized', concern: 'fault', meaning: 'more bytes than its kind allows; dropped unread' },
  { reason: 'duplicate', concern: 'benign', meaning: 'the same message delivered twice (MQTT QoS 1 does that); harmless' },
]
