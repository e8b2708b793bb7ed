import { Type } from '@sinclair/typebox';
import { defineOperations } from './operation.ts';

const Check = Type.Object(
  {
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    latency: Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'milliseconds' }),
    message: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);

export const HealthReport = Type.Object(
  {
    status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
    version: Type.String({ maxLength: 64 }),
    timestamp: Type.String({ format: 'date-time', maxLength: 40 }),
    checks: Type.Record(Type.String(), Check),
  },
  { $id: 'HealthReport', title: 'HealthReport', additionalProperties: false },
);

export const Probe = Type.Object(
  { status: Type.Union([Type.Literal('up'), Type.Literal('down')]) },
  { $id: 'Probe', title: 'Probe', additionalProperties: false },
);

export const healthOperations = defineOperations({
  getHealth: {
    operationId: 'getHealth',
    service: 'gateway',
    method: 'GET',
    path: '/health',
    unversioned: true,
    summary: 'Health of the system: one check per dependency with its latency',
    tags: ['Health'],
    access: 'public',
    responses: { 200: HealthReport },
    // Probes and load balancers read one shape whatever the outcome: the report names the failing check.
    errors: [503],
    errorBodies: { 503: HealthReport },
  },
  getLiveness: {
    operationId: 'getLiveness',
    service: 'gateway',
    method: 'GET',
    path: '/health/live',
    unversioned: true,
    summary: 'Liveness probe: the process is up',
    tags: ['Health'],
    access: 'public',
    responses: { 200: Probe },
    errors: [],
  },
  getReadiness: {
    operationId: 'getReadiness',
    service: 'gateway',
    method: 'GET',
    path: '/health/ready',
    unversioned: true,
    summary: 'Readiness probe: the process can take traffic',
    tags: ['Health'],
    access: 'public',
    responses: { 200: Probe },
    errors: [503],
    errorBodies: { 503: Probe },
  },
});
