import * as tf from '@tensorflow/tfjs'

export type BackendName = 'tensorflow' | 'wasm' | 'cpu'
export type BackendPreference = 'auto' | BackendName

let nodeBindingFailure: string | undefined

/** Picks the TF.js backend: tfjs-node where its native binding loads, else wasm, else cpu; says which on stderr. */
export async function selectBackend(preference: BackendPreference = 'auto', log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Promise<BackendName> {
  tf.env().set('PROD', true)
  const order: BackendName[] = preference === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [preference]
  const reasons: string[] = []
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        if (nodeBindingFailure !== undefined) throw new Error(nodeBindingFailure)
        try {
          await import('@tensorflow/tfjs-node')
        } catch (error) {
          // Remember the failure: a second import would print the same loader noise again.
          nodeBindingFailure = String((error as Error).message).split('\n')[0]
          throw error
        }
      } else if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm')
      if (!(await tf.setBackend(name))) throw new Error(`setBackend('${name}') returned false`)
      await tf.ready()
      log(`forecast: TF.js backend ${name}${reasons.length ? ` (${reasons.join('; ')})` : ''}`)
      return name
    } catch (error) {
      reasons.push(`${name} unavailable: ${String((error as Error).message).split('\n')[0]?.slice(0, 160)}`)
    }
  }
  throw new Error(`no TF.js backend could start: ${reasons.join('; ')}`)
}
