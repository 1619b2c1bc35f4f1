import { describe, expect, it } from 'vitest'
import { redactRpcUrl } from './redactRpcUrl.ts'

describe('redactRpcUrl', () => {
  it('hides user, password and query, and keeps the rest as written', () => {
    expect(redactRpcUrl('http://127.0.0.1:8545')).toBe('http://127.0.0.1:8545')
    expect(redactRpcUrl('https://rpc.example.org/')).toBe('https://rpc.example.org/')
    expect(redactRpcUrl('https://me:s3cret@rpc.example.org/v1?apikey=s3cret')).toBe('https://***:***@rpc.example.org/v1?***')
    expect(redactRpcUrl('not a url')).toBe('(not a URL)')
  })
})
