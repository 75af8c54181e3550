/**
 * The confusable skeleton of UTS #39 section 4 (https://www.unicode.org/reports/tr39/#Confusable_Detection):
 * two strings are confusable when their skeletons are equal. A skeleton is a comparison key only,
 * never shown to anyone (it mixes scripts freely: `skeleton("m")` is `"rn"`).
 */
import { CONFUSABLES_DATA } from './confusables-data.js';

let prototypes: Map<number, string> | undefined;

/** The confusables table, parsed on first use (about 6,500 entries). */
function table(): Map<number, string> {
  if (prototypes) return prototypes;
  prototypes = new Map();
  for (const entry of CONFUSABLES_DATA.split(/[;\n]/)) {
    const [source, target] = entry.split(':');
    if (!source || !target) continue;
    prototypes.set(parseInt(source, 16), String.fromCodePoint(...target.split(' ').map((hex) => parseInt(hex, 16))));
  }
  return prototypes;
}

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/** NFD, without default ignorable code points, each character replaced by its prototype, NFD again. */
export function skeleton(input: string): string {
  const map = table();
  let out = '';
  for (const char of input.normalize('NFD').replace(IGNORABLE, '')) out += map.get(char.codePointAt(0)!) ?? char;
  return out.normalize('NFD');
}
