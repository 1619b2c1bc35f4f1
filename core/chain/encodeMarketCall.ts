import { concatHex, encodeFunctionData, toFunctionSelector, type Hex } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import type { EncodedClearing } from '../market/encodeClearing.ts'
import type { Finalization } from './buildFinalization.ts'
import { orderArgs } from './commitClearing.ts'
import { finalizeArgs } from './finalizeArgs.ts'
import { settleArgs, type SettleParameters } from './settleArgs.ts'
import { encodeStep, type StepMarketParameters } from './stepMarket.ts'

/** One operator call of the market, as an outbox entry carries it. */
export type MarketCall =
  | { kind: 'commit'; clearing: EncodedClearing }
  | ({ kind: 'settle' } & SettleParameters)
  | { kind: 'finalize'; finalization: Pick<Finalization, 'interval' | 'inputsHash' | 'releases'> }
  | { kind: 'expire'; clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>; siteRefs: readonly bigint[] }
  | ({ kind: 'step' } & StepMarketParameters)

const stepSelector = toFunctionSelector('marketStep()')

/** The calldata of a market call, the same bytes commitClearing, settleInterval, finalizeInterval and stepMarket send: for an outbox entry, which signs and sends it exactly once. */
export function encodeMarketCall(call: MarketCall): Hex {
  switch (call.kind) {
    case 'commit':
      return encodeFunctionData({ abi: energyMarketAbi, functionName: 'commitClearing', args: [call.clearing.interval, call.clearing.price, orderArgs(call.clearing), call.clearing.matches] })
    case 'settle':
      return encodeFunctionData({ abi: energyMarketAbi, functionName: 'settle', args: settleArgs(call) })
    case 'finalize':
      return encodeFunctionData({ abi: energyMarketAbi, functionName: 'finalize', args: finalizeArgs(call.finalization) })
    case 'expire':
      return encodeFunctionData({ abi: energyMarketAbi, functionName: 'expire', args: [call.clearing.interval, call.clearing.price, [...call.siteRefs], [...call.clearing.matches]] })
    case 'step':
      return concatHex([stepSelector, encodeStep(call)])
  }
}
