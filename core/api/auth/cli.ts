// gridmesh users add|list|remove: the HMI's named accounts in the site's store.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseFlags } from '../../cli/parseFlags.ts'
import { InputError, UsageError } from '../../errors/BaseError.ts'
import { createStore } from '../../store/createStore.ts'
import { roleSchema, userNameSchema, type Role } from '../contract.ts'
import { protectStoreFiles } from '../protectStoreFiles.ts'
import { localUser } from './createAuthenticator.ts'
import { hashPassword } from './hashPassword.ts'

const help = `usage: gridmesh users add NAME --role viewer|operator|installer [--password-file FILE] [--data DIR]
       gridmesh users list [--data DIR]
       gridmesh users remove NAME [--data DIR]

Named accounts for the HMI, kept in DIR/gridmesh.db (scrypt hash, never the password).
A running 'gridmesh serve' sees a change at once; removing an account signs it out.

  viewer      sees everything, changes nothing
  operator    also acknowledges and shelves alarms and sets the operating mode
  installer   also changes settings, drives the simulator, scans and commissions

The password is read from --password-file (its first line), from standard input when it
is not a terminal (echo ... | gridmesh users add ...), or asked for twice at the terminal.
It is never a flag: flags end up in shell history and process lists.

  --role R              viewer | operator | installer
  --password-file FILE  read the password from FILE
  --data DIR            the site's data folder (default ./gridmesh-data)
`

const minPasswordChars = 8
const maxPasswordChars = 1024

export class PasswordInputError extends InputError {
  override name = 'PasswordInputError' as const
}

/** Runs `gridmesh users`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv
  if (action === undefined || action === '--help' || action === '-h') {
    process.stdout.write(help)
    return action === undefined ? 2 : 0
  }
  const positional = rest[0] !== undefined && !rest[0].startsWith('-') ? rest.shift()! : undefined
  const flags = parseFlags('users', rest, { role: { type: 'string' }, 'password-file': { type: 'string' }, password: { type: 'string' }, data: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (flags.password !== undefined) throw new UsageError(`users: --password is not accepted (it would stay in shell history and process lists); use --password-file FILE or standard input\n\n${help}`)
  const dataDir = flags.data ?? 'gridmesh-data'
  const dbPath = join(dataDir, 'gridmesh.db')
  const needName = () => {
    if (!positional) throw new UsageError(`users ${action}: NAME is required\n\n${help}`)
    const parsed = userNameSchema.safeParse(positional)
    if (!parsed.success) throw new UsageError(`users ${action}: NAME '${positional}': ${parsed.error.issues[0]!.message}`)
    if (parsed.data === localUser) throw new UsageError(`users ${action}: NAME '${localUser}' is reserved for the local owner (the api-token and the sign-in link)`)
    return parsed.data
  }
  switch (action) {
    case 'add': {
      const name = needName()
      const role = roleSchema.safeParse(flags.role)
      if (!role.success) throw new UsageError(`users add: --role: expected one of viewer|operator|installer, got ${flags.role === undefined ? 'nothing' : `'${flags.role}'`}`)
      const password = await readPassword(flags['password-file'])
      const passwordHash = await hashPassword(password)
      // The store holds password hashes: a folder and files only this user can read, as serve makes them.
      mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      protectStoreFiles(dbPath)
      const store = createStore({ path: dbPath })
      try {
        store.users.add({ name, role: role.data as Role, passwordHash, createdAtMs: Date.now() })
      } finally {
        store.close()
      }
      process.stdout.write(`added ${name} (${role.data}) to ${dbPath}\n`)
      return 0
    }
    case 'list':
    case 'remove': {
      if (!existsSync(dbPath)) throw new InputError(`users ${action}: no store at ${dbPath}; expected the data folder of a site (--data DIR)`)
      const name = action === 'remove' ? needName() : null
      protectStoreFiles(dbPath)
      const store = createStore({ path: dbPath })
      try {
        if (name === null) {
          const users = store.users.list()
          if (!users.length) process.stdout.write(`no accounts in ${dbPath}; add one with 'gridmesh users add NAME --role R'\n`)
          for (const u of users) process.stdout.write(`${u.name}\t${u.role}\t${new Date(u.createdAtMs).toISOString()}\n`)
          return 0
        }
        if (!store.users.remove(name)) throw new InputError(`users remove: no account '${name}' in ${dbPath}`)
        process.stdout.write(`removed ${name}; its sessions are signed out\n`)
        return 0
      } finally {
        store.close()
      }
    }
    default:
      throw new UsageError(`users: unknown action '${action}'; expected add, list or remove\n\n${help}`)
  }
}

function checkPassword(password: string, where: string): string {
  if (password.length < minPasswordChars) throw new PasswordInputError(`users add: the password from ${where} has ${password.length} characters; expected at least ${minPasswordChars}`)
  if (password.length > maxPasswordChars) throw new PasswordInputError(`users add: the password from ${where} is longer than ${maxPasswordChars} characters`)
  return password
}

async function readPassword(file: string | undefined): Promise<string> {
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      throw new PasswordInputError(`users add: --password-file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
    }
    return checkPassword(text.split(/\r?\n/)[0] ?? '', `--password-file ${file}`)
  }
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return checkPassword(Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '', 'standard input')
  }
  const first = await promptHidden('password: ')
  const second = await promptHidden('again: ')
  if (first !== second) throw new PasswordInputError('users add: the two passwords differ; nothing was added')
  return checkPassword(first, 'the terminal')
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin
    process.stderr.write(prompt)
    stdin.setRawMode(true)
    stdin.resume()
    let text = ''
    const done = (error?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(text)
    }
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done()
        if (ch === '\u0003') return done(new PasswordInputError('users add: cancelled'))
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1)
        else text += ch
      }
    }
    stdin.on('data', onData)
  })
}
