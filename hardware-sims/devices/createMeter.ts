import type { SitePhysics } from '../physics/sitePhysics.ts'
import type { MeterConfig, SiteConfig } from '../site/siteSchema.ts'
import { fillCommonModel, gridFrequency, gridVoltage, type SimDevice } from './SimDevice.ts'
import { scaleFactorFor, SunSpecImage } from './SunSpecImage.ts'

/** Models served by the grid meter. */
export const meterModels = [1, 203] as const

/** Phase shares of the site's power; a real house is never balanced. */
const phaseShare = [0.4, 0.33, 0.27] as const

/**
 * A three-phase (wye) grid meter at the connection point, model 203. W > 0 is import;
 * TotWhImp/TotWhExp count imported and exported energy in Wh.
 */
export function createMeter(config: MeterConfig, site: SiteConfig): SimDevice {
  const image = new SunSpecImage(config.sunspecBase, meterModels)
  fillCommonModel(image, config, 'GM-METER-3P')
  const batteryW = site.devices.reduce((sum, d) => sum + (d.kind === 'battery' ? d.maxChargeW : d.kind === 'inverter' ? d.ratedW : 0), 0)
  const wSf = scaleFactorFor((site.load.peakW + batteryW) * 1.2, 'int16', 0)
  const aSf = scaleFactorFor(((site.load.peakW + batteryW) / 230) * 1.2, 'int16', -2)
  const sfs: Record<string, number> = { A_SF: aSf, V_SF: -1, Hz_SF: -2, W_SF: wSf, VA_SF: wSf, VAR_SF: wSf, PF_SF: -2, TotWh_SF: 0 }
  for (const [path, sf] of Object.entries(sfs)) image.set(203, path, sf)
  image.set(203, 'Evt', 0)

  return {
    name: config.name,
    kind: 'meter',
    config,
    image,
    refresh(physics: SitePhysics) {
      const t = physics.timeMs
      const w = physics.gridW
      const v = [0, 1, 2].map((p) => gridVoltage(t, p))
      const pf = 0.97
      let aTotal = 0
      for (const [i, ph] of ['A', 'B', 'C'].entries()) {
        const wPh = w * phaseShare[i]!
        const aPh = Math.abs(wPh) / pf / v[i]!
        aTotal += aPh
        image.set(203, `Aph${ph}`, aPh)
        image.set(203, `PhVph${ph}`, v[i]!)
        image.set(203, `Wph${ph}`, wPh)
        image.set(203, `VAph${ph}`, Math.abs(wPh) / pf)
        image.set(203, `VARph${ph}`, (Math.abs(wPh) / pf) * Math.sqrt(1 - pf * pf))
        image.set(203, `PFph${ph}`, pf * Math.sign(wPh || 1))
        image.set(203, `TotWhImpPh${ph}`, Math.floor(physics.energy.gridImportWh * phaseShare[i]!))
        image.set(203, `TotWhExpPh${ph}`, Math.floor(physics.energy.gridExportWh * phaseShare[i]!))
      }
      const vAvg = (v[0]! + v[1]! + v[2]!) / 3
      image.set(203, 'A', aTotal)
      image.set(203, 'PhV', vAvg)
      image.set(203, 'PPV', vAvg * Math.sqrt(3))
      image.set(203, 'PhVphAB', ((v[0]! + v[1]!) / 2) * Math.sqrt(3))
      image.set(203, 'PhVphBC', ((v[1]! + v[2]!) / 2) * Math.sqrt(3))
      image.set(203, 'PhVphCA', ((v[2]! + v[0]!) / 2) * Math.sqrt(3))
      image.set(203, 'Hz', gridFrequency(t))
      image.set(203, 'W', w)
      image.set(203, 'VA', Math.abs(w) / pf)
      image.set(203, 'VAR', (Math.abs(w) / pf) * Math.sqrt(1 - pf * pf))
      image.set(203, 'PF', pf * Math.sign(w || 1))
      image.set(203, 'TotWhImp', Math.floor(physics.energy.gridImportWh))
      image.set(203, 'TotWhExp', Math.floor(physics.energy.gridExportWh))
    },
    applyWrites() {
      return null // nothing is writable: decodeWrite answers Illegal Data Address first
    },
  }
}
