import { defineConfig } from 'vite';

// Built at `npm ci` (the root `prepare` script) into dist/, which the gateway serves at /console.
export default defineConfig({
  base: '/console/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline scripts anywhere: the gateway's CSP for /console is `script-src 'self'`.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
