import { solveChallenge, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { expect } from 'vitest';
import type { Page } from './browser.js';

/** The challenge URL of the proof-of-work widget on a page, or undefined when the page has none. */
export function widgetChallengeUrl(page: Page): string | undefined {
  return page.$('altcha-widget').attr('challenge');
}

/** Fetches a challenge as the widget does and solves it with altcha-lib's own solver: the form field's value. */
export async function solvedChallenge(origin: string, challengeUrl: string): Promise<string> {
  const response = await fetch(new URL(challengeUrl, origin));
  expect(response.status, challengeUrl).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const challenge = (await response.json()) as Challenge;
  const solution = await solveChallenge({ challenge, deriveKey });
  if (!solution) throw new Error('the solver gave up');
  return Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution })).toString('base64');
}
