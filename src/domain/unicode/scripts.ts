/**
 * Mixed-script detection after UTS #39 section 5.2, "Highly Restrictive": the letters, digits and
 * marks of an identifier come from one script, or from Latin + Han + Hiragana + Katakana, Latin +
 * Han + Bopomofo, or Latin + Han + Hangul. Common and Inherited characters (ASCII digits and
 * punctuation, most combining marks) belong to every script.
 *
 * JavaScript can test a character against a named script but cannot name a character's script, so
 * the scripts are listed here: those in use for names today. A character of a script missing from
 * the list counts as "some other script": it cannot mix with a listed one, but two unlisted scripts
 * are not told apart (a limitation, documented in docs/architecture.md).
 */
const SCRIPTS = [
  'Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Hebrew', 'Arabic', 'Syriac', 'Thaana', 'Nko',
  'Samaritan', 'Mandaic', 'Adlam', 'Devanagari', 'Bengali', 'Gurmukhi', 'Gujarati', 'Oriya', 'Tamil',
  'Telugu', 'Kannada', 'Malayalam', 'Sinhala', 'Thai', 'Lao', 'Tibetan', 'Myanmar', 'Khmer', 'Mongolian',
  'Ethiopic', 'Cherokee', 'Canadian_Aboriginal', 'Tifinagh', 'Vai', 'Coptic', 'Glagolitic', 'Ol_Chiki',
  'Javanese', 'Balinese', 'Sundanese', 'Tai_Le', 'New_Tai_Lue', 'Tai_Tham', 'Tai_Viet', 'Cham', 'Yi',
  'Lisu', 'Bamum', 'Han', 'Hiragana', 'Katakana', 'Bopomofo', 'Hangul',
] as const;

type Script = (typeof SCRIPTS)[number] | 'Other';

const tests = SCRIPTS.map((name) => [name, new RegExp(`^\\p{Script_Extensions=${name}}$`, 'u')] as const);
const COMMON = /^[\p{Script=Common}\p{Script=Inherited}]$/u;
const CHECKED = /^[\p{L}\p{N}\p{M}]$/u;

/** Scripts that Highly Restrictive lets Latin and Han appear together with. */
const COMBINATIONS: ReadonlyArray<ReadonlySet<Script>> = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

/** The scripts one character may belong to, or `null` when it belongs to all (Common, Inherited). */
function scriptsOf(char: string): Set<Script> | null {
  if (!CHECKED.test(char)) return null;
  const found = new Set<Script>(tests.filter(([, test]) => test.test(char)).map(([name]) => name));
  if (found.size > 0) return found;
  return COMMON.test(char) ? null : new Set<Script>(['Other']);
}

/** True when `value` mixes scripts beyond what Highly Restrictive allows. */
export function mixesScripts(value: string): boolean {
  const sets = [...value].map(scriptsOf).filter((set): set is Set<Script> => set !== null);
  if (sets.length === 0) return false;
  const [first, ...rest] = sets;
  const shared = [...first!].filter((script) => rest.every((set) => set.has(script)));
  if (shared.length > 0) return false;
  return !COMBINATIONS.some((allowed) => sets.every((set) => [...set].some((script) => allowed.has(script))));
}
