import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';

/**
 * Lists, at the end of a run, every skipped test with the reason it was skipped, and fails the run
 * when a test was skipped without one: nothing may be skipped silently.
 *
 * A reason is the note of `ctx.skip(condition, note)`, or the `skipReason` in the meta of the test or
 * of a suite around it (`describe(name, { skip, meta: { skipReason } }, …)`, see `needsPostgres`).
 */
export default class SkippedReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const skipped = modules.flatMap((module) =>
      [...module.children.allTests()]
        .filter((test) => test.result().state === 'skipped')
        .map((test) => ({ test, reason: reasonOf(test) })),
    );
    if (skipped.length === 0) {
      console.log('\nSkipped tests: none');
      return;
    }
    const byReason = Map.groupBy(skipped, ({ reason }) => reason ?? '');
    console.log(`\nSkipped tests: ${skipped.length}`);
    for (const [reason, entries] of byReason) {
      console.log(
        `  ${reason || 'NO REASON GIVEN (give one: ctx.skip(condition, note) or meta.skipReason)'}`,
      );
      for (const { test } of entries) console.log(`    - ${test.module.relativeModuleId} > ${test.fullName}`);
    }
    if (byReason.has('')) process.exitCode = 1;
  }
}

function reasonOf(test: TestCase): string | undefined {
  const result = test.result();
  if (result.state === 'skipped' && result.note) return result.note;
  let node: TestCase | TestSuite | TestModule = test;
  while (node.type !== 'module') {
    const reason = node.meta().skipReason;
    if (reason) return reason;
    node = node.parent;
  }
  return undefined;
}

declare module 'vitest' {
  interface TaskMeta {
    /** Why a suite or test is skipped, listed at the end of the run. */
    skipReason?: string;
  }
}
