/**
 * One JSON object per line, so CloudWatch Logs Insights can filter on fields. `LOG_LEVEL` (`info`,
 * `warn` or `error`) drops the lines below it.
 */
const LEVELS = { info: 0, warn: 1, error: 2 } as const;
type Level = keyof typeof LEVELS;

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  const threshold = LEVELS[(process.env.LOG_LEVEL as Level) ?? 'info'] ?? LEVELS.info;
  if (LEVELS[level] < threshold) return;
  const line = JSON.stringify({ level, message, ...fields });
  if (level === 'info') console.log(line);
  else console.error(line);
}
