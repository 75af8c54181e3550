/**
 * The identifier key against rows of the published Unicode tables: CaseFolding.txt 17.0.0 (through
 * the `unicode-case-folding` package) and the UTS #39 confusables.txt 17.0.0 (through our table).
 * The rows are quoted verbatim, so a wrong table or a wrong step of the algorithm shows here.
 */
import { describe, expect, it } from 'vitest';
import { checkUsername, foldIdentifier, identifierKey, identifierKeysOf } from '../../src/domain/identifiers.js';
import { CONFUSABLES_DATA, CONFUSABLES_VERSION } from '../../src/domain/unicode/confusables-data.js';
import { mixesScripts } from '../../src/domain/unicode/scripts.js';
import { skeleton } from '../../src/domain/unicode/skeleton.js';

const hex = (codes: string) => String.fromCodePoint(...codes.trim().split(/\s+/).map((code) => parseInt(code, 16)));

/** Rows of CaseFolding-17.0.0.txt, statuses C and F (full case folding). */
const caseFolding = `
0049; C; 0069; # LATIN CAPITAL LETTER I
00DF; F; 0073 0073; # LATIN SMALL LETTER SHARP S
0130; F; 0069 0307; # LATIN CAPITAL LETTER I WITH DOT ABOVE
0149; F; 02BC 006E; # LATIN SMALL LETTER N PRECEDED BY APOSTROPHE
03C2; C; 03C3; # GREEK SMALL LETTER FINAL SIGMA
1E9E; F; 0073 0073; # LATIN CAPITAL LETTER SHARP S
1F88; F; 1F00 03B9; # GREEK CAPITAL LETTER ALPHA WITH PSILI AND PROSGEGRAMMENI
AB70; C; 13A0; # CHEROKEE SMALL LETTER A
FB03; F; 0066 0066 0069; # LATIN SMALL LIGATURE FFI
`;

/** Rows of confusables.txt 17.0.0 (sources that are their own NFD, so skeleton(source) is the target's NFD). */
const confusables = `
0430 ;	0061 ;	MA	# ( а → a ) CYRILLIC SMALL LETTER A → LATIN SMALL LETTER A	#
0131 ;	0069 ;	MA	# ( ı → i ) LATIN SMALL LETTER DOTLESS I → LATIN SMALL LETTER I	#
0456 ;	0069 ;	MA	# ( і → i ) CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I → LATIN SMALL LETTER I	#
04CF ;	006C ;	MA	# ( ӏ → l ) CYRILLIC SMALL LETTER PALOCHKA → LATIN SMALL LETTER L	# →I→
0031 ;	006C ;	MA	# ( 1 → l ) DIGIT ONE → LATIN SMALL LETTER L	#
006D ;	0072 006E ;	MA	# ( m → rn ) LATIN SMALL LETTER M → LATIN SMALL LETTER R, LATIN SMALL LETTER N	#
03BF ;	006F ;	MA	# ( ο → o ) GREEK SMALL LETTER OMICRON → LATIN SMALL LETTER O	#
017F ;	0066 ;	MA	# ( ſ → f ) LATIN SMALL LETTER LONG S → LATIN SMALL LETTER F	#
0D1F ;	0073 ;	MA	# ( ട → s ) MALAYALAM LETTER TTA → LATIN SMALL LETTER S	#
1D41A ;	0061 ;	MA	# ( 𝐚 → a ) MATHEMATICAL BOLD SMALL A → LATIN SMALL LETTER A	#
0412 ;	0042 ;	MA	# ( В → B ) CYRILLIC CAPITAL LETTER VE → LATIN CAPITAL LETTER B	#
2024 ;	002E ;	MA	#* ( ․ → . ) ONE DOT LEADER → FULL STOP	#
`;

function rows(table: string, pattern: RegExp): Array<[string, string]> {
  return table
    .trim()
    .split('\n')
    .map((line) => pattern.exec(line))
    .map((match) => [hex(match![1]!), hex(match![2]!)]);
}

describe('identifier keys', () => {
  it('fold case fully, as CaseFolding.txt says (C + F, not the Turkic T rows)', () => {
    for (const [from, to] of rows(caseFolding, /^([0-9A-F]+); [CF]; ([0-9A-F ]+);/)) {
      expect(foldIdentifier(from), from).toBe(to.normalize('NFKC'));
    }
    expect(foldIdentifier('  Straße ')).toBe('strasse');
  });

  it('map each character to its prototype, as confusables.txt says', () => {
    expect(CONFUSABLES_VERSION).toBe('17.0.0');
    expect(CONFUSABLES_DATA.split(/[;\n]/).filter(Boolean)).toHaveLength(6565);
    for (const [from, to] of rows(confusables, /^([0-9A-F]+) ;\t([0-9A-F ]+) ;\tMA/)) {
      expect(skeleton(from), from).toBe(to.normalize('NFD'));
    }
  });

  it('skeleton: NFD first and last, default ignorables dropped, and stable when applied twice', () => {
    expect(skeleton('é')).toBe('e\u0301');
    expect(skeleton('a\u200Bb\u00ADc')).toBe(skeleton('abc'));
    for (const value of ['paypal', 'аӏісе', 'ǉubljana', 'straße', '𝔭𝒶ỿ𝕡𝕒ℓ']) expect(skeleton(skeleton(value))).toBe(skeleton(value));
  });

  it('give look-alikes one key: case, width, compatibility forms, scripts, dotless i, m and rn', () => {
    const same: Array<[string, string]> = [
      ['alice', 'ALICE'],
      ['alice', 'ａｌｉｃｅ'],
      ['alice', '𝐚𝐥𝐢𝐜𝐞'],
      ['alice', 'аӏісе'],
      ['alice', 'alıce'],
      ['straße', 'STRASSE'],
      ['strasse', 'ſtraſſe'],
      ['alice@example.com', 'Alice@Exarnple.com'],
      ['ὀδυσσεύς', 'ὈΔΥΣΣΕΎΣ'],
    ];
    for (const [a, b] of same) expect(identifierKey(a), `${a} / ${b}`).toBe(identifierKey(b));
    const different: Array<[string, string]> = [['alice', 'alicia'], ['bob', 'b0b'], ['mary', 'marie']];
    for (const [a, b] of different) expect(identifierKey(a)).not.toBe(identifierKey(b));
  });

  it('give no key to empty or oversized input, and one key per distinct identifier of a user', () => {
    expect(identifierKey('   ')).toBeNull();
    expect(identifierKey('x'.repeat(513))).toBeNull();
    expect(identifierKeysOf('alice@example.com', 'ALICE@example.com')).toHaveLength(1);
    expect(identifierKeysOf('alice', 'alice@example.com')).toHaveLength(2);
    expect(identifierKeysOf('alice')).toEqual([identifierKey('alice')]);
  });
});

describe('the username profile', () => {
  it('stores the canonical form and refuses what it does not allow', () => {
    expect(checkUsername('Zoë')).toEqual({ ok: true, username: 'zoë' });
    expect(checkUsername('ＢＥＮ')).toEqual({ ok: true, username: 'ben' });
    for (const bad of ['', 'a b', 'a\tb', 'İnci', 'a\u0301\u0301', '\u0301a', 'a\u200Db', 'x\u202E', 'a★', '𝐚'.repeat(129), 'x'.repeat(600)]) {
      expect(checkUsername(bad).ok, JSON.stringify(bad)).toBe(false);
    }
  });

  it('allows one script, or Latin with the Chinese, Japanese and Korean combinations (UTS #39 Highly Restrictive)', () => {
    for (const fine of ['alice', 'алиса', 'ὀδυσσεύς', '山田たろう', 'tanaka山田タロウ', '김철수kim', '王bopomofoㄅ', 'user123', 'שלום', 'سلام']) {
      expect(mixesScripts(fine), fine).toBe(false);
    }
    for (const mixed of ['pаypal', 'αlpha', 'שלוםabc', 'کیk', '김たろう', 'abc१२']) expect(mixesScripts(mixed), mixed).toBe(true);
  });
});
