export * from './plugin.ts';
export * from './verifier.ts';
