import { html } from '../html.js';

const ROW = 22;
const LABEL = 300;
const WIDTH = 1000;

/** Spans in tree order (each after its parent, siblings by start), with their depth. */
export function spanTree(spans) {
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map();
  for (const span of spans) {
    const parent = span.parentId && ids.has(span.parentId) ? span.parentId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  const ordered = [];
  const visit = (parent, depth) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.offsetMs - b.offsetMs)) {
      ordered.push({ span, depth });
      visit(span.spanId, depth + 1);
    }
  };
  visit(null, 0);
  return ordered;
}

/**
 * A trace as a waterfall: one row per span, indented under its parent, its bar placed on the
 * trace's time line. SVG attributes, not inline styles: the console's CSP allows no inline style.
 */
export function Waterfall({ trace }) {
  const rows = spanTree(trace.spans);
  const total = Math.max(trace.durationMs, 0.001);
  const scale = (WIDTH - LABEL - 80) / total;
  return html`<svg class="waterfall" viewBox=${`0 0 ${WIDTH} ${rows.length * ROW + 10}`} role="img" aria-label="Spans of the trace">
    ${rows.map(({ span, depth }, index) => {
      const y = index * ROW + 4;
      const x = LABEL + span.offsetMs * scale;
      const width = Math.max(1, span.durationMs * scale);
      return html`<g class=${`span ${span.kind}${span.error ? ' error' : ''}`} data-span=${span.name} data-service=${span.service}>
        <title>${`${span.service} · ${span.name} · ${span.durationMs.toFixed(2)} ms\n${Object.entries(
          span.attributes,
        )
          .map(([key, value]) => `${key}: ${value}`)
          .join('\n')}`}</title>
        <text x=${4 + depth * 12} y=${y + 14} class="span-label">${span.service} · ${span.name}</text>
        <rect x=${x} y=${y + 2} width=${width} height=${ROW - 8} rx="2" />
        <text x=${x + width + 4} y=${y + 14} class="span-duration">${span.durationMs.toFixed(2)} ms</text>
      </g>`;
    })}
  </svg>`;
}
