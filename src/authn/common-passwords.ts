import type { CommonPasswordList } from './breached-passwords.js';

/** Where the shipped list comes from; docs/accounts.md ("Passwords") says how it was made and its licence. */
export const COMMON_PASSWORDS_SOURCE = '@zxcvbn-ts/language-common (MIT), dictionary "passwords-common"';

/**
 * The most common passwords, shipped with Gatehouse: the `passwords-common` dictionary of
 * @zxcvbn-ts/language-common (MIT; built from Mark Burnett's public-domain ten million passwords:
 * every password seen more than ten times, lower-cased, ASCII only, about 49,000 of them). The
 * package keeps it prefix-compressed (about 370 KB on disk); it is unpacked into a Set at the first
 * lookup, not at start, so a process that never takes a new password never pays for it (about 60 ms
 * and 3.6 MiB of heap, `bench/common-passwords.ts`). Every instance and every tenant share one Set.
 */
export class CommonPasswords implements CommonPasswordList {
  #set: Promise<ReadonlySet<string>> | undefined;

  /** `lowerCasePassword` must already be lower-cased: the list is. */
  async has(lowerCasePassword: string): Promise<boolean> {
    return (await this.#load()).has(lowerCasePassword);
  }

  /** How many passwords the list holds (loads it). */
  async size(): Promise<number> {
    return (await this.#load()).size;
  }

  #load(): Promise<ReadonlySet<string>> {
    this.#set ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set((dictionary['passwords-common'] as readonly string[]).map((word) => word.toLowerCase())));
    // A failed import is not cached: the next lookup tries again (and fails closed meanwhile, by rejecting).
    this.#set.catch(() => (this.#set = undefined));
    return this.#set;
  }
}
