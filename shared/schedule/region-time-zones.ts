/**
 * The time zone CloneSquad assumes for a region when its stack's `TimeZone` parameter is empty (the
 * table CloneSquad v0.27.1 ships). `localcron()` values and the discovery record's `TimeZone` follow
 * it, so a group behaves here as CloneSquad itself reads it. A region CloneSquad does not list is UTC,
 * as it is for CloneSquad.
 */
export const CLONESQUAD_REGION_TIME_ZONES: Readonly<Record<string, string>> = {
  'us-east-1': 'America/New_York',
  'us-east-2': 'America/New_York',
  'us-west-1': 'America/Los_Angeles',
  'us-west-2': 'America/Los_Angeles',
  'af-south-1': 'Africa/Johannesburg',
  'ap-east-1': 'Asia/Hong_Kong',
  'ap-south-1': 'Asia/Kolkata',
  'ap-northeast-1': 'Asia/Tokyo',
  'ap-northeast-2': 'Asia/Seoul',
  'ap-northeast-3': 'Asia/Tokyo',
  'ap-southeast-1': 'Asia/Singapore',
  'ap-southeast-2': 'Australia/Sydney',
  'ca-central-1': 'America/Toronto',
  'eu-central-1': 'Europe/Berlin',
  'eu-west-1': 'Europe/Dublin',
  'eu-west-2': 'Europe/London',
  'eu-west-3': 'Europe/Paris',
  'eu-south-1': 'Europe/Rome',
  'eu-north-1': 'Europe/Stockholm',
  'me-south-1': 'Asia/Bahrain',
  'sa-east-1': 'America/Sao_Paulo',
};

/**
 * The zone a group's `localcron()` is read in: this service's `TimeZone` parameter when set (an
 * override), else the CloneSquad stack's own `TimeZone` parameter (CloneSquad treats "" and "None" as
 * unset), else CloneSquad's zone for the region, else UTC.
 *
 * @example
 * groupTimeZone({ region: 'eu-west-3' }); // 'Europe/Paris'
 * groupTimeZone({ region: 'eu-west-3', stackTimeZone: 'Asia/Kolkata' }); // 'Asia/Kolkata'
 */
export function groupTimeZone(facts: { region: string; stackTimeZone?: string; override?: string }): string {
  const given = (value: string | undefined) => {
    const text = value?.trim() ?? '';
    return text === '' || text === 'None' ? undefined : text;
  };
  return given(facts.override) ?? given(facts.stackTimeZone) ?? CLONESQUAD_REGION_TIME_ZONES[facts.region] ?? 'UTC';
}
