import { type BrowserAvailability, ensureChromium } from './browser.ts';

/** Once per run, before the browser suites: find Chromium, or install it where the machine allows. */
export function setup({ provide }: { provide(key: 'browser', value: BrowserAvailability): void }) {
  provide(
    'browser',
    ensureChromium((line) => console.log(line)),
  );
}

declare module 'vitest' {
  export interface ProvidedContext {
    browser: BrowserAvailability;
  }
}
