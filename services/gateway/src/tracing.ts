import { randomHex } from '@armature/platform/spans/ids';

// W3C Trace Context: version-traceId-parentId-flags, lowercase hex; all-zero ids are invalid.
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;
const zeroTrace = '0'.repeat(32);
const zeroParent = '0'.repeat(16);

/**
 * The `traceparent` to send upstream: the caller's when it is valid (so the trace continues), a new
 * sampled one otherwise. Spans of the gateway itself are left to the tracing instrumentation.
 */
export function traceparentFor(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string') {
    const match = traceparentPattern.exec(incoming);
    if (
      match &&
      match[1] !== 'ff' &&
      match[2] !== zeroTrace &&
      match[3] !== zeroParent &&
      (match[1] !== '00' || match[4] === undefined)
    ) {
      return incoming;
    }
  }
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}
