import { roles, type Role } from '../contract.ts'

/** Whether `role` may do what `needed` may: viewer < operator < installer. */
export function hasRole(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed)
}
