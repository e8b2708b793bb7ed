import htm from 'htm';
import { h } from 'preact';

/** JSX-like templates without a compiler step: html`<p>${text}</p>`. */
export const html = htm.bind(h);
