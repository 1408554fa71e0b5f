/**
 * The resources that start executions (SPEC §8), as CloudFormation computed at package time: the
 * backup schedule and its role, the event source mapping on the Configuration table's stream, and
 * the `backup` API. With `MetadataAndBackupS3Path` empty there is no schedule and no mapping, and
 * `POST /backup` answers the feature-off error instead of starting an execution.
 */
import { createHash } from 'node:crypto';
import { BACKUP_CRON_KEY, DEFAULT_SCHEDULE_EXPRESSION, SCHEDULE_GROUP } from '#shared/schedule/backup-cron';
import { featureOffError } from '#shared/run/deployment';
import { RUN_REQUEST_SCHEMA } from '#shared/run/run-request';
import { iamResource, TOKEN, type Cfn } from '#infra/cloudformation';
import type { DeploymentParameters, resourceNames } from '#infra/deployment-config';
import {
  apiStatements,
  lambdaLogicalId,
  SCHEDULE_ROLE_LOGICAL_ID,
  scheduleStatements,
  stateMachineArn,
  type Statement,
} from '#infra/iam';

type ResourceNames = ReturnType<typeof resourceNames>;
type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** The schedule's target input: the slot's time, from which the execution's name is built. */
export const SCHEDULE_TARGET_INPUT = '{"scheduledTime":"<aws.scheduler.scheduled-time>"}';
/** Lambda event filter: only records of the `backup.cron` row. */
export const BACKUP_CRON_FILTER = JSON.stringify({ dynamodb: { Keys: { Key: { S: [BACKUP_CRON_KEY] } } } });
export const API_PATH = 'backup';

const json = (value: unknown) => JSON.stringify(value);

function join(...parts: Cfn[]): Cfn {
  return { 'Fn::Join': ['', parts] };
}

function role(service: string, policyName: string, statements: Statement[], condition: Record<string, unknown>) {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', Condition: condition },
        ],
      },
      Policies: [{ PolicyName: policyName, PolicyDocument: { Version: '2012-10-17', Statement: statements } }],
    },
  };
}

const SOURCE_ACCOUNT = { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } };

function scheduleResources(names: ResourceNames): Record<string, Resource> {
  const scheduleArn = iamResource(
    `arn:${TOKEN.partition}:scheduler:${TOKEN.region}:${TOKEN.accountId}:schedule/${SCHEDULE_GROUP}/${names.schedule}`,
  );
  return {
    [SCHEDULE_ROLE_LOGICAL_ID]: role('scheduler.amazonaws.com', 'schedule', scheduleStatements(), {
      StringEquals: { ...SOURCE_ACCOUNT, 'aws:SourceArn': scheduleArn },
    }),
    BackupSchedule: {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: names.schedule,
        GroupName: SCHEDULE_GROUP,
        Description: `Backups and CMDB export; the Configuration key ${BACKUP_CRON_KEY} overrides this default`,
        // The default; reconcileSchedule makes it follow backup.cron without a redeploy.
        ScheduleExpression: DEFAULT_SCHEDULE_EXPRESSION,
        ScheduleExpressionTimezone: 'UTC',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: { 'Fn::GetAtt': [lambdaLogicalId('startScheduledRun'), 'Arn'] },
          RoleArn: { 'Fn::GetAtt': [SCHEDULE_ROLE_LOGICAL_ID, 'Arn'] },
          Input: SCHEDULE_TARGET_INPUT,
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
        },
      },
    },
  };
}

function streamResources(streamArn: string): Record<string, Resource> {
  return {
    BackupCronChangesEventSourceMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: { 'Fn::GetAtt': [lambdaLogicalId('reconcileSchedule'), 'Arn'] },
        EventSourceArn: streamArn,
        StartingPosition: 'LATEST',
        BatchSize: 10,
        // Every execution reconciles too: a change that keeps failing is not retried for long.
        MaximumRetryAttempts: 2,
        MaximumRecordAgeInSeconds: 3600,
        FilterCriteria: { Filters: [{ Pattern: BACKUP_CRON_FILTER }] },
      },
    },
  };
}

/**
 * Mapping templates, in the part of VTL that API Gateway's Velocity and the tests' velocityjs read
 * alike: arithmetic only in `#set`, and `$util.escapeJavaScript` followed by the usual fix of its
 * `\'` (JSON has no such escape).
 */
const ESCAPE = (value: string) => `$util.escapeJavaScript(${value}).replaceAll("\\\\'", "'")`;

/** `POST /backup` body → StartExecution request; an empty body is `{}`. */
function startExecutionTemplate(names: ResourceNames): Cfn {
  return join(
    `#set($body = $input.json('$'))\n`,
    `#if("$!body" == "" || "$!body" == "null")#set($body = "{}")#end\n`,
    '{"stateMachineArn": "',
    stateMachineArn(names),
    `", "input": "${ESCAPE('$body')}"}`,
  );
}

/** The `:`-separated last part of `$arn` (an execution's name), as `$id`. */
const EXECUTION_ID = [
  '#set($colon = $arn.lastIndexOf(":"))',
  '#set($from = $colon + 1)',
  '#set($id = $arn.substring($from))',
];

const STARTED_TEMPLATE = [
  "#set($arn = $input.path('$.executionArn'))",
  ...EXECUTION_ID,
  '{"executionId": "$id", "executionArn": "$arn", "statusUrl": "https://$context.domainName$context.path/$id"}',
].join('\n');

/** Step Functions' error type (`…#ExecutionLimitExceeded`), as `$error`. */
const SERVICE_ERROR = ['#set($error = "$!input.path(\'$.__type\')")'];

/** Step Functions refused the start (its input was validated already): too many runs is a 429. */
const START_REFUSED_TEMPLATE = [
  ...SERVICE_ERROR,
  '#if($error.endsWith("ExecutionLimitExceeded"))#set($context.responseOverride.status = 429)#end',
  `{"message": "Step Functions did not start the execution: ${ESCAPE('$error')}: ${ESCAPE('"$!input.path(\'$.message\')"')}"}`,
].join('\n');

function describeExecutionTemplate(names: ResourceNames): Cfn {
  return join(
    '{"executionArn": "',
    iamResource(`arn:${TOKEN.partition}:states:${TOKEN.region}:${TOKEN.accountId}:execution:${names.stateMachine}:`),
    `${ESCAPE("$input.params('id')")}"}`,
  );
}

/**
 * The execution's state; when it is finished, its summary: the output of a succeeded execution, the
 * cause of one that failed because parts failed (the workflow makes that cause the summary's JSON).
 * Any other failure (an invalid input, a timeout, an abort) is answered as its error and cause.
 */
const STATUS_TEMPLATE = [
  "#set($r = $input.path('$'))",
  '{"executionId": "$r.name", "executionArn": "$r.executionArn", "status": "$r.status"',
  '#if($r.status == "SUCCEEDED")#if("$!r.output" != ""), "summary": $r.output#end',
  '#elseif($r.status == "FAILED" && $r.error == "PartsFailed"), "error": "PartsFailed"#if("$!r.cause" != ""), "summary": $r.cause#end',
  `#elseif($r.status != "RUNNING" && $r.status != "PENDING_REDRIVE"), "error": "${ESCAPE('"$!r.error"')}", "cause": "${ESCAPE('"$!r.cause"')}"`,
  '#end}',
].join('\n');

const STATUS_REFUSED_TEMPLATE = [
  ...SERVICE_ERROR,
  '#if($error.endsWith("ExecutionDoesNotExist") || $error.endsWith("InvalidArn"))',
  '#set($context.responseOverride.status = 404)',
  '{"message": "no execution of this state machine has that id. Fix: use the executionId that POST /backup answered"}',
  '#else',
  `{"message": "Step Functions did not describe the execution: ${ESCAPE('$error')}: ${ESCAPE('"$!input.path(\'$.message\')"')}"}`,
  '#end',
].join('\n');

const JSON_CONTENT = 'application/json';
const ERROR_STATUSES = ['400', '404', '429', '500', '502', '503'];

function methodResponses(codes: string[]) {
  return codes.map((StatusCode) => ({ StatusCode }));
}

function awsIntegration(action: string, requestTemplate: Cfn, okTemplate: string, refusedTemplate: string) {
  return {
    Type: 'AWS',
    IntegrationHttpMethod: 'POST',
    Uri: join('arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, `:states:action/${action}`),
    Credentials: { 'Fn::GetAtt': ['BackupApiRole', 'Arn'] },
    PassthroughBehavior: 'NEVER',
    RequestTemplates: { [JSON_CONTENT]: requestTemplate },
    IntegrationResponses: [
      { StatusCode: '200', ResponseTemplates: { [JSON_CONTENT]: okTemplate } },
      // Integration responses are keyed by status: one for every refusal, the template refines the status.
      { StatusCode: '502', SelectionPattern: '[45]\\d{2}', ResponseTemplates: { [JSON_CONTENT]: refusedTemplate } },
    ],
  };
}

/** With the feature off, `POST /backup` answers the same error every part would give. */
function featureOffIntegration() {
  return {
    Type: 'MOCK',
    PassthroughBehavior: 'NEVER',
    RequestTemplates: { [JSON_CONTENT]: '{"statusCode": 503}' },
    IntegrationResponses: [
      { StatusCode: '503', ResponseTemplates: { [JSON_CONTENT]: json({ message: featureOffError().message }) } },
    ],
  };
}

function apiResources(parameters: DeploymentParameters, names: ResourceNames, stage: string) {
  const api = { Ref: 'BackupApi' };
  const methods: Record<string, Resource> = {
    BackupApiStartMethod: {
      Type: 'AWS::ApiGateway::Method',
      Properties: {
        RestApiId: api,
        ResourceId: { Ref: 'BackupApiBackupResource' },
        HttpMethod: 'POST',
        AuthorizationType: 'AWS_IAM',
        RequestValidatorId: { Ref: 'BackupApiBodyValidator' },
        RequestModels: { [JSON_CONTENT]: { Ref: 'BackupApiRunRequestModel' } },
        Integration: parameters.destination
          ? awsIntegration('StartExecution', startExecutionTemplate(names), STARTED_TEMPLATE, START_REFUSED_TEMPLATE)
          : featureOffIntegration(),
        MethodResponses: methodResponses(['200', ...ERROR_STATUSES]),
      },
    },
    BackupApiStatusMethod: {
      Type: 'AWS::ApiGateway::Method',
      Properties: {
        RestApiId: api,
        ResourceId: { Ref: 'BackupApiExecutionResource' },
        HttpMethod: 'GET',
        AuthorizationType: 'AWS_IAM',
        RequestValidatorId: { Ref: 'BackupApiBodyValidator' },
        RequestParameters: { 'method.request.path.id': true },
        Integration: awsIntegration(
          'DescribeExecution',
          describeExecutionTemplate(names),
          STATUS_TEMPLATE,
          STATUS_REFUSED_TEMPLATE,
        ),
        MethodResponses: methodResponses(['200', ...ERROR_STATUSES]),
      },
    },
  };
  const allowedPrincipal = iamResource(`arn:${TOKEN.partition}:iam::${TOKEN.accountId}:root`);
  const definition: Record<string, Resource> = {
    BackupApi: {
      Type: 'AWS::ApiGateway::RestApi',
      Properties: {
        Name: names.api,
        Description: 'Starts backup and CMDB export executions and answers their status (IAM authorization)',
        EndpointConfiguration: { Types: ['REGIONAL'] },
        // Only principals of this account, and only those its IAM policies allow execute-api:Invoke.
        Policy: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: allowedPrincipal },
              Action: 'execute-api:Invoke',
              Resource: 'execute-api:/*',
            },
          ],
        },
      },
    },
    BackupApiBackupResource: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { RestApiId: api, ParentId: { 'Fn::GetAtt': ['BackupApi', 'RootResourceId'] }, PathPart: API_PATH },
    },
    BackupApiExecutionResource: {
      Type: 'AWS::ApiGateway::Resource',
      Properties: { RestApiId: api, ParentId: { Ref: 'BackupApiBackupResource' }, PathPart: '{id}' },
    },
    BackupApiRunRequestModel: {
      Type: 'AWS::ApiGateway::Model',
      Properties: { RestApiId: api, ContentType: JSON_CONTENT, Name: 'BackupRunRequest', Schema: RUN_REQUEST_SCHEMA },
    },
    BackupApiBodyValidator: {
      Type: 'AWS::ApiGateway::RequestValidator',
      Properties: { RestApiId: api, ValidateRequestBody: true, ValidateRequestParameters: true },
    },
    BackupApiBadBodyResponse: {
      Type: 'AWS::ApiGateway::GatewayResponse',
      Properties: {
        RestApiId: api,
        ResponseType: 'BAD_REQUEST_BODY',
        StatusCode: '400',
        ResponseTemplates: {
          [JSON_CONTENT]:
            '{"message": "request body: $context.error.validationErrorString. Fix: send {} to run everything, ' +
            'or {\\"parts\\": [...]} naming only known parts (see the BackupRunRequest model)"}',
        },
      },
    },
    ...methods,
  };
  // A deployment is a snapshot: a new logical id whenever the API changes makes CloudFormation take a new one.
  const deploymentId = `BackupApiDeployment${createHash('sha256').update(json(definition)).digest('hex').slice(0, 10)}`;
  const resources: Record<string, Resource> = {
    ...definition,
    [deploymentId]: {
      Type: 'AWS::ApiGateway::Deployment',
      DependsOn: Object.keys(methods),
      Properties: { RestApiId: api },
    },
    BackupApiStage: {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: api,
        DeploymentId: { Ref: deploymentId },
        StageName: stage,
        MethodSettings: [{ ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }],
      },
    },
    BackupApiRole: role('apigateway.amazonaws.com', 'backupApi', apiStatements(names), {
      StringEquals: SOURCE_ACCOUNT,
    }),
  };
  const outputs = {
    BackupApiUrl: {
      Description: 'POST here to start a run; GET {url}/{executionId} for its status (SigV4, service execute-api)',
      Value: join(
        'https://',
        api,
        '.execute-api.',
        { Ref: 'AWS::Region' },
        '.',
        { Ref: 'AWS::URLSuffix' },
        `/${stage}/${API_PATH}`,
      ),
    },
  };
  return { resources, outputs };
}

/** The `resources` fragment serverless.yml merges in. */
export function triggerResources(parameters: DeploymentParameters, names: ResourceNames, stage: string) {
  const api = apiResources(parameters, names, stage);
  return {
    Resources: {
      ...(parameters.destination ? scheduleResources(names) : {}),
      ...(parameters.destination && parameters.configurationTableStreamArn
        ? streamResources(parameters.configurationTableStreamArn)
        : {}),
      ...api.resources,
    },
    Outputs: api.outputs,
  };
}
