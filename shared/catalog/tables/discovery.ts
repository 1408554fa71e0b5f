import { array, string, timestamp, type Column, type ColumnType, type TableSchema } from '#shared/catalog/schema-types';

/**
 * Parameters of the CloneSquad template (v0.27), each written as text. `GroupName` is left out: it
 * is the `groupname` partition column.
 */
export const CLONESQUAD_STACK_PARAMETERS = [
  'ApiGWConfiguration',
  'ApiGWEndpointConfiguration',
  'ConfigurationURLs',
  'CustomizationZipParameters',
  'DynamoDBConfiguration',
  'EBSVolumeKMSKeys',
  'InteractSQSQueueIAMPolicy',
  'LambdaMemorySize',
  'LogLevels',
  'LoggingS3Path',
  'LogRetentionDuration',
  'PermissionsBoundary',
  'UserNotificationArns',
  'XRayDiagnosis',
] as const;

/**
 * Outputs of the CloneSquad template (v0.27), each written as text. The output `LongTermEventTable`
 * (an ARN) is written as `LongTermEventTableArn`, since the original record's `LongTermEventTable`
 * holds the table name; the output `GroupName` is the partition column.
 */
export const CLONESQUAD_STACK_OUTPUTS = [
  'CloneSquadDependencyLayer',
  'CloneSquadLayer',
  'ConfigTable',
  'InteractAPIUrl',
  'InteractFunction',
  'InteractQueue',
  'InternalERRORInteractAlarm',
  'InternalERRORMainAlarm',
  'InternalWARNINGInteractAlarm',
  'InternalWARNINGMainAlarm',
  'LackOfCPUCreditAlarm',
  'LongTermEventTableArn',
  'MainFunction',
  'MainFunctionIamRole',
] as const;

function column(name: string, type: ColumnType, comment?: string): Column {
  return { name, type, ...(comment ? { comment } : {}) };
}

const text = (names: readonly string[], comment: string) => names.map((name) => column(name, string, comment));

/**
 * Fields of the original implementation's record (its discovery function's environment), kept with
 * the same names and meaning so existing queries keep working.
 */
const originalRecordColumns: Column[] = [
  column('CloneSquadVersion', string, 'CloneSquadVersion carried by the stack template'),
  column(
    'InstallTime',
    timestamp,
    "CloneSquad's install or last upgrade (its Discovery function's InstallTime), else the stack's last update",
  ),
  column('InteractAPIGWUrl', string, 'Interact API URL (stack output InteractAPIUrl)'),
  column('InteractApi', string, 'Interact API id (host of InteractAPIGWUrl)'),
  column('MetadataAndBackupS3Path', string, 'where this service writes, normalised'),
  column('TimeZone', string, "zone of CloneSquad's schedules: its stack's TimeZone, else its region's, else UTC"),
  column('UserSuppliedJSONMetadata', string, 'raw text; query keys with json_extract_scalar'),
  ...text(['ConfigurationTable', 'SchedulerTable'], 'table backed up by this service'),
  ...text(
    ['AlarmStateEC2Table', 'EventTable', 'LongTermEventTable', 'StateTable'],
    'CloneSquad table name (fixed by the template)',
  ),
  ...text(
    [
      'InternalERRORInteractAlarmArn',
      'InternalERRORMainAlarmArn',
      'InternalWARNINGInteractAlarmArn',
      'InternalWARNINGMainAlarmArn',
      'LackOfCPUCreditAlarmArn',
      'MainLambdaIamRoleArn',
    ],
    'stack output under its original record name',
  ),
  column('ApiGwVpcEndpointDNSEntry', string, "from CloneSquad's Discovery function environment"),
  ...text(
    ['DiscoveryLambdaIamRoleArn', 'InteractLambdaIamRoleArn'],
    "from CloneSquad's Discovery function environment, else the stack's role resource",
  ),
];

const accountColumns: Column[] = [
  ...text(
    ['AccountArn', 'AccountEmail', 'AccountJoinedMethod', 'AccountName', 'AccountState', 'AccountStatus'],
    'Organizations DescribeAccount, when permitted',
  ),
  column('AccountJoinedTimestamp', timestamp, 'Organizations DescribeAccount, when permitted'),
];

/**
 * One line per CloneSquad deployment (docs/cmdb.md). Besides these columns a record carries one
 * `X-{key}` field per top-level key of `UserSuppliedJSONMetadata` when it is a JSON object (value as
 * text; JSON text when not a string). Those keys differ per deployment, so they are not columns: in
 * Athena, read them from the raw column, e.g.
 * `json_extract_scalar(usersuppliedjsonmetadata, '$.Owner')`.
 */
export const discoveryTable: TableSchema = {
  folder: 'discovery',
  name: 'clonesquad_discovery',
  description:
    "One line per CloneSquad deployment; keys of UserSuppliedJSONMetadata via json_extract_scalar(usersuppliedjsonmetadata, '$.key')",
  dynamicFieldPrefix: 'X-',
  columns: [
    ...text(CLONESQUAD_STACK_PARAMETERS, 'CloneSquad stack parameter (never a NoEcho one)'),
    ...text(CLONESQUAD_STACK_OUTPUTS, 'CloneSquad stack output'),
    ...originalRecordColumns,
    column('CloneSquadStackName', string, 'stack read'),
    column('CloneSquadStackStatus', string, 'its status; null when it does not exist'),
    ...accountColumns,
    column('Subfleets', array(string), 'distinct subfleet names of instances not shutting down or terminated'),
    column('MetadataRecordLastUpdatedAt', timestamp, 'execution start'),
  ],
};
