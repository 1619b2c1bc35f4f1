import { InputError } from '../../errors/BaseError.ts'

/**
 * Why a weather forecast cannot be used: `missing` (cannot be read or fetched), `malformed`
 * (not the expected JSON), `stale` (issued too long ago, or not covering the horizon),
 * `location` (for another place), `partial` (holes in the hours the plan needs).
 */
export type WeatherProblem = 'missing' | 'malformed' | 'stale' | 'location' | 'partial'

/** A weather forecast that cannot be used: the problem, and a message naming the source and what is wrong where. */
export class WeatherSourceError extends InputError {
  override name = 'WeatherSourceError' as const
  readonly problem: WeatherProblem

  constructor(problem: WeatherProblem, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.problem = problem
  }
}
