/**
 * What starts executions, as CloudFormation computed at package time: each group's schedule lives in
 * the deployment's schedule group (created and kept in step at run time, shared/groups/reconcile.ts);
 * the groups' reconciliation runs every 15 minutes, on every CloudFormation stack change and, when
 * configured, on the Configuration table's stream; the `backup` API starts runs (StartExecution) and
 * answers their status (a function). With `MetadataAndBackupS3Path` empty there is no schedule at
 * all, and `POST /backup` answers the feature-off error instead of starting an execution.
 */
import { createHash } from 'node:crypto';
import { featureOffError } from '#shared/run/deployment';
import { RUN_REQUEST_SCHEMA } from '#shared/run/run-request';
import { BACKUP_CRON_STREAM_FILTER_PATTERNS } from '#shared/schedule/backup-cron';
import {
  cfn,
  cfnDeep,
  getAtt,
  policyDocument,
  ref,
  token,
  TOKEN,
  type Cfn,
  type PolicyStatement,
} from '#infra/cloudformation';
import { resourceArns, type DeploymentParameters, type ResourceNames } from '#infra/deployment-config';
import { lambdaLogicalId } from '#infra/functions';
import { Grants } from '#infra/iam';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };

/** How often every group's schedule is checked, whatever else triggers it. */
export const GROUPS_RECONCILE_RATE = 'rate(15 minutes)';
/** The Scheduler group of the reconciliation's own schedule: not the groups', which holds one per group. */
const SERVICE_SCHEDULE_GROUP = 'default';
export const API_PATH = 'backup';

const json = (value: unknown) => JSON.stringify(value);

function join(...parts: Cfn[]): Cfn {
  return { 'Fn::Join': ['', parts] };
}

function serviceRole(
  service: string,
  policyName: string,
  statements: (PolicyStatement | Cfn)[],
  condition: Record<string, Cfn>,
): Resource {
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole', Condition: condition },
        ],
      },
      Policies: [{ PolicyName: policyName, PolicyDocument: cfnDeep(policyDocument(statements)) }],
    },
  };
}

const SOURCE_ACCOUNT = { 'aws:SourceAccount': ref('AWS::AccountId') };

function invokePermission(
  functionName: 'reconcileGroups' | 'backupStatus',
  principal: string,
  sourceArn: Cfn,
): Resource {
  return {
    Type: 'AWS::Lambda::Permission',
    Properties: {
      FunctionName: getAtt(lambdaLogicalId(functionName), 'Arn'),
      Action: 'lambda:InvokeFunction',
      Principal: principal,
      SourceAccount: ref('AWS::AccountId'),
      SourceArn: sourceArn,
    },
  };
}

/**
 * The schedule group of the groups' schedules (deleting the stack deletes them with it), the role
 * those schedules use, and the reconciliation's own triggers: every 15 minutes, and every
 * CloudFormation stack change (a CloneSquad stack created, updated or deleted).
 */
function scheduleResources(names: ResourceNames): Record<string, Resource> {
  const role = serviceRole(
    'scheduler.amazonaws.com',
    'startRuns',
    [
      {
        Sid: 'StartScheduledRunsAndReconcile',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: [
          getAtt(lambdaLogicalId('startScheduledRun'), 'Arn'),
          getAtt(lambdaLogicalId('reconcileGroups'), 'Arn'),
        ],
      },
    ],
    { StringEquals: SOURCE_ACCOUNT },
  );
  return {
    BackupScheduleGroup: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: names.scheduleGroup } },
    // Named: the functions that create the groups' schedules hand it over by its ARN (a Ref would loop).
    BackupSchedulesRole: { ...role, Properties: { ...role.Properties, RoleName: cfn(names.scheduleRole) } },
    GroupsReconcileSchedule: {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: names.groupsSchedule,
        GroupName: SERVICE_SCHEDULE_GROUP,
        Description: "Brings every CloneSquad group's backup schedule in step with its backup.cron",
        ScheduleExpression: GROUPS_RECONCILE_RATE,
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: getAtt(lambdaLogicalId('reconcileGroups'), 'Arn'),
          RoleArn: getAtt('BackupSchedulesRole', 'Arn'),
          Input: '{}',
          RetryPolicy: { MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 3 },
        },
      },
    },
    StackChangesRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Description: 'A CloudFormation stack created, updated or deleted: CloneSquad groups may have come or gone',
        EventPattern: {
          source: ['aws.cloudformation'],
          'detail-type': ['CloudFormation Stack Status Change'],
          detail: {
            'status-details': {
              status: [
                'CREATE_COMPLETE',
                'UPDATE_COMPLETE',
                'UPDATE_ROLLBACK_COMPLETE',
                'IMPORT_COMPLETE',
                'DELETE_COMPLETE',
              ],
            },
          },
        },
        Targets: [{ Id: 'reconcileGroups', Arn: getAtt(lambdaLogicalId('reconcileGroups'), 'Arn') }],
      },
    },
    StackChangesPermission: invokePermission(
      'reconcileGroups',
      'events.amazonaws.com',
      getAtt('StackChangesRule', 'Arn'),
    ),
  };
}

function streamResources(streamArn: string): Record<string, Resource> {
  return {
    ScheduleRowChangesEventSourceMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        FunctionName: getAtt(lambdaLogicalId('reconcileGroups'), 'Arn'),
        EventSourceArn: streamArn,
        StartingPosition: 'LATEST',
        BatchSize: 10,
        // The 15-minute reconciliation catches up anyway: a change that keeps failing is not retried for long.
        MaximumRetryAttempts: 2,
        MaximumRecordAgeInSeconds: 3600,
        FilterCriteria: { Filters: BACKUP_CRON_STREAM_FILTER_PATTERNS.map((pattern) => ({ Pattern: pattern })) },
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
    cfn(resourceArns(names).stateMachine),
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
    Credentials: getAtt('BackupApiRole', 'Arn'),
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
    // The status of a run of every group gathers each group's execution: a function answers it.
    BackupApiStatusMethod: {
      Type: 'AWS::ApiGateway::Method',
      Properties: {
        RestApiId: api,
        ResourceId: { Ref: 'BackupApiExecutionResource' },
        HttpMethod: 'GET',
        AuthorizationType: 'AWS_IAM',
        RequestValidatorId: { Ref: 'BackupApiBodyValidator' },
        RequestParameters: { 'method.request.path.id': true },
        Integration: {
          Type: 'AWS_PROXY',
          IntegrationHttpMethod: 'POST',
          Uri: join(
            'arn:',
            ref('AWS::Partition'),
            ':apigateway:',
            ref('AWS::Region'),
            ':lambda:path/2015-03-31/functions/',
            getAtt(lambdaLogicalId('backupStatus'), 'Arn'),
            '/invocations',
          ),
        },
      },
    },
  };
  const allowedPrincipal = cfn(`arn:${TOKEN.partition}:iam::${TOKEN.accountId}:root`);
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
            '{\\"groupName\\": \\"G\\"} for one group, or {\\"parts\\": [...]} naming only known parts ' +
            '(see the BackupRunRequest model)"}',
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
    BackupApiRole: serviceRole(
      'apigateway.amazonaws.com',
      'backupApi',
      new Grants(parameters, names).startExecutions(),
      {
        StringEquals: SOURCE_ACCOUNT,
      },
    ),
    BackupApiStatusPermission: invokePermission(
      'backupStatus',
      'apigateway.amazonaws.com',
      cfn(
        `arn:${TOKEN.partition}:execute-api:${TOKEN.region}:${TOKEN.accountId}:${token('BackupApi')}/*/GET/${API_PATH}/*`,
      ),
    ),
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
