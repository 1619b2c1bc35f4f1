import type { PassphraseRequest } from './createKeyVault.ts'
import { IpcRequestError } from './IpcRequestError.ts'

/** A prompt as the page gets it: numbered, so its answer names which one it answers. */
export type PassphrasePromptRequest = PassphraseRequest & { id: number }

export type PassphrasePrompt = {
  /** main: asks the window for a passphrase; null when the user cancelled (or the prompt was cancelled). */
  ask(request: PassphraseRequest): Promise<string | null>
  /** The page: the oldest unanswered prompt, waiting until there is one (the page asks again after each answer). */
  next(): Promise<PassphrasePromptRequest>
  /** The page's answer; never echoed back, logged or kept once handed to the asker. */
  answer(id: number, passphrase: string | null): { answered: true }
  /** Every open prompt answered as cancelled (the window closed, the app quits). */
  cancelAll(): void
}

/**
 * The window's passphrase prompt, from main's side: the key vault asks, the site manager
 * page (electron/pages/site-manager/) waits for a prompt over IPC (gridmesh:prompt
 * 'next'), shows it with a password field and answers it ('answer'). `reveal` brings that
 * page up when a prompt is raised while the HMI shows.
 */
export function createPassphrasePrompt({ reveal = () => {} }: { reveal?: () => void } = {}): PassphrasePrompt {
  let nextId = 1
  const open = new Map<number, { request: PassphrasePromptRequest; resolve: (passphrase: string | null) => void }>()
  const waiting: ((request: PassphrasePromptRequest) => void)[] = []
  return {
    ask(request) {
      const id = nextId++
      const promptRequest = { id, reason: request.reason, confirm: request.confirm, error: request.error }
      return new Promise((resolve) => {
        open.set(id, { request: promptRequest, resolve })
        for (const wake of waiting.splice(0)) wake(promptRequest)
        reveal()
      })
    },
    next() {
      const oldest = open.values().next().value
      if (oldest) return Promise.resolve(oldest.request)
      return new Promise((resolve) => waiting.push(resolve))
    },
    answer(id, passphrase) {
      const entry = open.get(id)
      if (!entry) throw new IpcRequestError(404, `prompt: no open prompt ${id} (answered already, or cancelled)`, 'id')
      open.delete(id)
      entry.resolve(passphrase)
      return { answered: true }
    },
    cancelAll() {
      for (const [id, entry] of open) {
        open.delete(id)
        entry.resolve(null)
      }
    },
  }
}
