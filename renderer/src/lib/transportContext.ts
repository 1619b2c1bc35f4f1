import { getContext, setContext } from 'svelte'
import type { Transport } from '../transport/Transport.ts'

const key = Symbol('transport')

/** The one transport, given to the views by App (views never build their own). */
export function transportContext(set?: Transport): Transport {
  if (set) return setContext(key, set)
  return getContext<Transport>(key)
}
