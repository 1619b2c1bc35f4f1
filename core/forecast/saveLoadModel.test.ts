import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { saveLoadModel } from './saveLoadModel.ts'
import type { TrainLoadModelResult } from './trainLoadModel.ts'

const fakeTrained = (marker: unknown): TrainLoadModelResult =>
  ({
    artifacts: { modelTopology: { marker: 'topology' }, weightSpecs: [{ name: 'w', shape: [2], dtype: 'float32' }], weightData: new Float32Array([1, 2]).buffer },
    metadata: { versions: { tfjs: '4.22.0' }, marker },
  }) as unknown as TrainLoadModelResult

describe('saveLoadModel', () => {
  it('writes model.json, weights.bin and metadata.json and replaces an older model', () => {
    const root = mkdtempSync(join(tmpdir(), 'gridmesh-save-'))
    const dir = join(root, 'site')
    saveLoadModel(dir, fakeTrained('first'))
    saveLoadModel(dir, fakeTrained('second'))
    expect(readdirSync(dir).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin'])
    expect(JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')).marker).toBe('second')
    expect(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths).toEqual(['weights.bin'])
    expect(readdirSync(root)).toEqual(['site'])
  })

  it('keeps the previous model byte for byte when writing the new one fails', () => {
    const root = mkdtempSync(join(tmpdir(), 'gridmesh-save-'))
    const dir = join(root, 'site')
    mkdirSync(dir)
    writeFileSync(join(dir, 'model.json'), 'previous model')
    // A BigInt cannot be serialised: the write fails half way through the temporary directory.
    expect(() => saveLoadModel(dir, fakeTrained(10n))).toThrow(/cannot write the model to .*; the previous model in .*site is kept/)
    expect(readFileSync(join(dir, 'model.json'), 'utf8')).toBe('previous model')
    expect(readdirSync(root)).toEqual(['site'])
  })
})
