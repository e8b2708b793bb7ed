/**
 * Spans kept in memory, for tests that read what was traced (`exportSpansTo`). Apart from
 * `tracing.ts` so that loading the platform does not load the OpenTelemetry SDK.
 */
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
