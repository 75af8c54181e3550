/**
 * Identifiers people sign in with: usernames and e-mail addresses. Three things live here and only
 * here, so the admin API, the CLI, the seeds, the repository and the login form agree:
 *
 * - the username profile: what a username may contain (PRECIS UsernameCaseMapped, RFC 8265, made
 *   stricter where RFC 8265 leaves room for look-alikes; see docs/architecture.md, "Identifiers");
 * - the canonical form a username is stored in: NFKC, full case folding (CaseFolding.txt C + F), NFKC;
 * - the uniqueness key: the UTS #39 confusable skeleton of that canonical form. Usernames and e-mail
 *   addresses of a tenant share one key space (a unique store index), so no username can equal or
 *   look like another user's username or e-mail address, whichever was there first.
 */
import { caseFold } from 'unicode-case-folding';
import { mixesScripts } from './unicode/scripts.js';
import { skeleton } from './unicode/skeleton.js';

/** Longest username, in code points, after normalisation (so NFKC expansions are bounded too). */
export const MAX_USERNAME_LENGTH = 128;
/** Longer input is no identifier of ours: no key is computed (bounds the work a sign-in can cause). */
const MAX_IDENTIFIER_INPUT = 512;

/** Letters, decimal digits, combining marks and printable ASCII: PRECIS IdentifierClass without its exceptions. */
const ALLOWED = /^[\p{L}\p{Nd}\p{Mn}\p{Mc}\x21-\x7E]$/u;
const IGNORABLE = /^\p{Default_Ignorable_Code_Point}$/u;
/** Conjoining jamo that did not compose into a syllable (PRECIS OldHangulJamo). */
const OLD_HANGUL_JAMO = /^[\u1100-\u11FF\uA960-\uA97F\uD7B0-\uD7FF]$/u;

/** Trims, NFKC, full case folding, NFKC again (folding can undo normalisation, e.g. U+0345). */
export function foldIdentifier(input: string): string {
  return caseFold(input.trim().normalize('NFKC')).normalize('NFKC');
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Why `canonical` (a folded username) breaks the profile, or `undefined` when it does not. Messages
 * name characters by code point, never by themselves: they may be invisible or reorder text.
 */
function profileProblem(canonical: string): string | undefined {
  const chars = [...canonical];
  if (chars.length === 0) return 'must not be empty';
  if (chars.length > MAX_USERNAME_LENGTH) return `must be at most ${MAX_USERNAME_LENGTH} characters after normalisation`;
  for (const char of chars) {
    if (!ALLOWED.test(char) || IGNORABLE.test(char) || OLD_HANGUL_JAMO.test(char)) {
      return `the character ${codePoint(char)} is not allowed: use letters, digits, combining marks and ASCII punctuation, without spaces`;
    }
  }
  if (/^\p{M}/u.test(canonical)) return 'must not start with a combining mark';
  // UTS #39 section 5.4: marks that leave the text looking as it would without them, checked
  // decomposed (NFC hides a repeated accent inside a precomposed letter: á + U+0301).
  const decomposed = canonical.normalize('NFD');
  if (/\p{Soft_Dotted}\p{M}*\u0307/u.test(decomposed)) return 'a dot above on i or j looks like the plain letter: use the plain letter';
  if (/(\p{Mn})\1/u.test(decomposed)) return 'must not repeat the same combining mark';
  if (mixesScripts(canonical)) return 'must not mix letters of different scripts (such as Latin and Cyrillic)';
  return undefined;
}

export type UsernameCheck = { ok: true; username: string } | { ok: false; problem: string };

/** Applies the username profile: the canonical username to store, or what is wrong with the input. */
export function checkUsername(input: string): UsernameCheck {
  if (input.length > MAX_IDENTIFIER_INPUT) return { ok: false, problem: `must be at most ${MAX_USERNAME_LENGTH} characters` };
  const username = foldIdentifier(input);
  const problem = profileProblem(username);
  return problem === undefined ? { ok: true, username } : { ok: false, problem };
}

/**
 * The uniqueness key of a username or e-mail address: the skeleton of its folded form. Also what
 * the login form looks users up by. `null` for empty or oversized input, which names no one. It
 * does not apply the profile: users stored before the profile existed still have a key.
 */
export function identifierKey(input: string): string | null {
  if (input.length > MAX_IDENTIFIER_INPUT) return null;
  const folded = foldIdentifier(input);
  return folded ? skeleton(folded) : null;
}

/** The keys of a user's identifiers, without repeats (a username may equal the user's own address). */
export function identifierKeysOf(username: string, email?: string): string[] {
  const keys = [username, email].map((value) => (value === undefined ? null : identifierKey(value)));
  return [...new Set(keys.filter((key): key is string => key !== null))];
}
