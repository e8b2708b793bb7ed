/** API timestamps: ISO 8601 UTC without milliseconds, `2024-01-15T10:30:00Z`. */
export function isoTimestamp(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
