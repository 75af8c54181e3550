import { describe, expect, it } from 'vitest';
import { deviceLabel } from '../../src/oidc/session-devices.js';

/** The label a session's owner sees for the browser that signed in (`oidc/session-devices.ts`). */
describe('deviceLabel', () => {
  it('names common browsers and systems by name and major version', () => {
    expect(deviceLabel('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.71 Safari/537.36')).toBe('Chrome 120 on Linux');
    expect(deviceLabel('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0')).toBe('Firefox 121 on Windows 10');
    expect(deviceLabel('Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1')).toBe('Safari 17 on iOS');
  });

  it('keeps an unknown agent’s first characters, bounded, and says when there is none', () => {
    expect(deviceLabel('')).toBe('Unknown browser');
    expect(deviceLabel('   ')).toBe('Unknown browser');
    expect(deviceLabel('node')).toBe('node');
    expect(deviceLabel('x'.repeat(10_000)).length).toBeLessThanOrEqual(80);
    // Markup is kept as text: the views escape it.
    expect(deviceLabel('<script>alert(1)</script>')).toBe('<script>alert(1)</script>');
  });
});
