/** API timestamps: ISO 8601 UTC without milliseconds, `2024-01-15T10:30:00Z`. */
export function isoTimestamp(value: Date | string): string {
  const iso = (value instanceof Date ? value : new Date(value)).toISOString();
  // `YYYY-MM-DDTHH:mm:ss.sssZ` for years 0–9999: cut rather than match, it runs twice per row of a list.
  return iso.length === 24 ? `${iso.slice(0, 19)}Z` : iso.replace(/\.\d{3}Z$/, 'Z');
}
