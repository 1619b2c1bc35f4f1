import type { Role } from '../transport/apiTypes.ts'

const rank: Record<Role, number> = { viewer: 0, operator: 1, installer: 2 }

/** Whether `role` may do what `needed` may (viewer < operator < installer); the server checks again and answers 403. */
export function roleAllows(role: Role | null | undefined, needed: Role): boolean {
  return role != null && rank[role] >= rank[needed]
}
