import highsModule, { type Highs } from 'highs'

// highs ships one CommonJS-flavoured .d.ts for both entry points: under NodeNext the
// default import is typed as the module object, while at run time the ESM entry's
// default export is the loader itself. Accept either shape.
type LoadHighs = typeof highsModule.default
const loadHighs: LoadHighs =
  typeof highsModule === 'function' ? (highsModule as unknown as LoadHighs) : highsModule.default

let loading: Promise<Highs> | undefined

/** The one HiGHS (wasm) runtime of this process, loaded on first use and kept warm. */
export function getHighs(): Promise<Highs> {
  loading ??= loadHighs().catch((error: unknown) => {
    // A failed load must not poison every later attempt.
    loading = undefined
    throw error
  })
  return loading
}
