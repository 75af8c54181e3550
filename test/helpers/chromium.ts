import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium (never a browser downloaded by `playwright install`). */
export const CHROMIUM_PATH = process.env['GATEHOUSE_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Containers often have a 64 MB /dev/shm, too small for Chromium's shared memory.
  '--disable-dev-shm-usage',
];

/** Launches headless Chromium, or fails with how to install it (the browser tests never skip). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}; the browser tests need Debian's chromium package. ` +
        'Install it with: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium ' +
        '(.ci/run does this in CI). Do not run `playwright install`.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 20_000 });
}

export interface PageProblems {
  /** console errors and warnings (CSP violations are reported here too) */
  console: string[];
  /** uncaught exceptions in the page */
  errors: string[];
  /** `securitypolicyviolation` events: `directive blocked-uri` */
  csp: string[];
  /** requests that failed at the network level (blocked, refused, aborted) */
  failed: string[];
}

/**
 * Records what a page reports going wrong: console errors and warnings, uncaught exceptions, CSP
 * violations (through a listener installed before any page script, which CSP does not govern) and
 * failed requests. `ignoreConsole` filters messages a test expects.
 */
export async function watchPage(page: Page, ignoreConsole: (message: ConsoleMessage) => boolean = () => false): Promise<PageProblems> {
  const problems: PageProblems = { console: [], errors: [], csp: [], failed: [] };
  page.on('console', (message) => {
    if ((message.type() === 'error' || message.type() === 'warning') && !ignoreConsole(message)) {
      problems.console.push(`${message.type()}: ${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => problems.errors.push(error.message));
  page.on('requestfailed', (request) => problems.failed.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`));
  await page.exposeBinding('__ghCspViolation', (_source, report: string) => {
    problems.csp.push(report);
  });
  // A string: the tests compile without the DOM library.
  await page.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
    void window.__ghCspViolation(event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline') + ' on ' + event.documentURI);
  });`);
  return problems;
}

/**
 * A fresh browser profile (no cookies) with one page whose problems are recorded (`watchPage`);
 * the context goes into `contexts` for the test to close.
 */
export async function openWatchedPage(
  browser: Browser,
  contexts: BrowserContext[],
  options: { width?: number; height?: number; colorScheme?: 'light' | 'dark'; stepTimeoutMs?: number } = {},
): Promise<{ page: Page; problems: PageProblems }> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1024, height: options.height ?? 768 }, colorScheme: options.colorScheme ?? 'light', locale: 'en-US' });
  contexts.push(context);
  context.setDefaultTimeout(options.stepTimeoutMs ?? 10_000);
  context.setDefaultNavigationTimeout(options.stepTimeoutMs ?? 10_000);
  const page = await context.newPage();
  return { page, problems: await watchPage(page) };
}

/**
 * No CSP violation, page error, console error or warning, or failed request. `/favicon.ico` of
 * `origin` is left out (Chromium asks for it now and then, not deterministically, and the pages
 * declare no icon, so it is a 404), and failed requests that `ignoreFailed` names.
 */
export function expectNoPageProblems(problems: PageProblems, origin: string, ignoreFailed: (line: string) => boolean = () => false): void {
  const favicon = (line: string) => line.includes(`${origin}/favicon.ico`);
  expect(problems.csp, 'CSP violations').toEqual([]);
  expect(problems.errors, 'uncaught page errors').toEqual([]);
  expect(problems.console.filter((line) => !favicon(line)), 'console errors and warnings').toEqual([]);
  expect(problems.failed.filter((line) => !favicon(line) && !ignoreFailed(line)), 'failed requests').toEqual([]);
}

/** The seeded clients' redirect URI origin (test/helpers/gatehouse.ts): nothing listens there. */
export const RP_ORIGIN = 'http://127.0.0.1:9';

/**
 * Answers every request to the relying party's origin with a tiny page, so a test can read where
 * the login sent the browser; returns the URLs it saw, in order.
 */
export async function interceptRelyingParty(page: Page): Promise<string[]> {
  const seen: string[] = [];
  await page.route(`${RP_ORIGIN}/**`, (route) => {
    seen.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!DOCTYPE html><title>RP</title><p>callback</p>' });
  });
  return seen;
}
