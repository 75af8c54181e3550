/** Makes a literal string safe inside a RegExp, so search input or a key prefix can never be a pattern. */
export function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
