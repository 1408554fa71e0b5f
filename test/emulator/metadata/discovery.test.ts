import { randomInt } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  CloudFormationClient,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
  GetTemplateCommand,
  GetTemplateSummaryCommand,
} from '@aws-sdk/client-cloudformation';
import {
  DescribeInstanceStatusCommand,
  DescribeTagsCommand,
  EC2Client,
  TerminateInstancesCommand,
  type DescribeInstanceStatusCommandInput,
  type DescribeTagsCommandInput,
} from '@aws-sdk/client-ec2';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { AccessDeniedException, DescribeAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { expect } from 'chai';
import { TABLES, recordProblems } from '#shared/catalog/schema';
import { applyStackSeed, parseOrganizationSeed, parseStackSeed, type StackSeed } from '#local/seed-stack';
import { clientSettings } from '#shared/aws/clients';
import type { Deployment } from '#shared/run/deployment';
import {
  buildDiscoveryRecord,
  exportDiscovery,
  templateVersion,
  userMetadataFields,
  type DiscoveryClients,
} from '#shared/metadata/discovery';
import { parseCloneSquadTime } from '#shared/metadata/discovery-function';
import type { MetadataPartResult } from '#shared/metadata/jsonl-writer';
import { listSubfleets } from '#shared/metadata/subfleets';
import { metadataKey } from '#shared/aws/s3-layout';
import { createBucket, emulatorClients, uniqueName } from '#test/support/aws';
import { seedImageId } from '#local/seed-instances';
import { launchInstance } from '#test/support/ec2';

const START = '2024-06-01T10:00:00.000Z';
const SECRET = 'planted-Secret-7f3a9c-do-not-export';

/** An Organizations client acting as another (fresh) emulator account, so organizations never leak between tests. */
function organizationsOf(accountId: string): OrganizationsClient {
  const client = new OrganizationsClient(clientSettings());
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

const freshAccountId = () => String(randomInt(100_000_000_000, 999_999_999_999));

describe('discovery exporter (docs/cmdb.md)', () => {
  describe('against the emulator', () => {
    const { s3 } = emulatorClients();
    const cloudformation = new CloudFormationClient(clientSettings());
    const ec2 = new EC2Client(clientSettings());
    const lambda = new LambdaClient(clientSettings());
    let bucket: string;
    let imageId: string;

    before(async () => {
      bucket = await createBucket(s3);
      imageId = await seedImageId(ec2);
    });

    function deploymentFor(groupName: string, overrides: Partial<Deployment> = {}): Deployment {
      return {
        groupName,
        accountId: '123456789012',
        region: 'eu-west-1',
        destination: { bucket, prefix: 'cmdb/org' },
        tables: {
          configuration: `CloneSquad-${groupName}-Configuration`,
          scheduler: `CloneSquad-${groupName}-Scheduler`,
        },
        timeZone: 'Europe/Paris',
        cloneSquadStackName: `CloneSquad-${groupName}`,
        userSuppliedJsonMetadata: '',
        ...overrides,
      };
    }

    function launch(groupName: string, subfleet?: string): Promise<string> {
      return launchInstance(ec2, imageId, groupName, subfleet);
    }

    /** The one line written, checked against the table schema, and the raw text it was read from. */
    async function writtenLine(result: MetadataPartResult, deployment: Deployment) {
      const key = metadataKey(deployment.destination!, deployment, 'discovery');
      expect(result.keys).to.deep.equal([key]);
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
      const lines = text.split('\n').filter((line) => line !== '');
      expect(lines).to.have.length(1);
      const record = JSON.parse(lines[0]) as Record<string, unknown>;
      expect(recordProblems(TABLES.discovery, record)).to.deep.equal([]);
      for (const [name, value] of Object.entries(record)) {
        if (name.startsWith('X-')) expect(value, name).to.be.a('string');
      }
      return { record, text };
    }

    it('writes the stack, version, account and subfleets, and never a NoEcho parameter', async () => {
      // Prepare
      const groupName = uniqueName('full');
      const management = organizationsOf(freshAccountId());
      const seed: StackSeed = parseStackSeed(
        {
          version: 'v0.27.1',
          parameters: {
            LambdaMemorySize: '512',
            LogLevels: '*=INFO',
            TimeZone: 'Asia/Kolkata',
            UserSuppliedJSONMetadata: '{"FromStack": "ignored, the deployment has its own"}',
            ForkOnlyParameter: 'x',
            ApiSecret: SECRET,
          },
          noEcho: ['ApiSecret'],
          discoveryFunction: {
            environment: {
              ApiGwVpcEndpointDNSEntry: 'vpce-0abc-1234.execute-api.eu-west-1.vpce.amazonaws.com',
              InstallTime: '2024-04-02 09:00:00.123456+00:00',
            },
          },
          outputs: {
            InteractAPIUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/',
            ConfigTable: `arn:aws:dynamodb:eu-west-1:123456789012:table/CloneSquad-${groupName}-Configuration`,
            LongTermEventTable: `arn:aws:dynamodb:eu-west-1:123456789012:table/CloneSquad-${groupName}-EventLog-LongTerm`,
            MainFunctionIamRole: 'arn:aws:iam::123456789012:role/main-role',
            InternalERRORMainAlarm: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:errors',
            InteractQueue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/CloneSquad-Interact',
          },
        },
        'test',
      );
      const organization = parseOrganizationSeed({ accountName: 'Workloads', accountEmail: 'ops@example.com' }, 'test');
      const applied = await applyStackSeed(
        { cloudformation, organizations: management },
        groupName,
        seed,
        organization,
      );
      expect(applied.accountId).to.match(/^\d{12}$/);
      await launch(groupName, 'web');
      await launch(groupName, 'batch');
      await launch(groupName, 'web');
      await launch(groupName);
      const gone = await launch(groupName, 'gone');
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [gone] }));
      await launch(uniqueName('other'), 'other-group');
      const deployment = deploymentFor(groupName, {
        accountId: applied.accountId!,
        userSuppliedJsonMetadata: '{"Owner": "team-a", "CostCenter": 42, "Tags": ["a", "b"], "Nested": {"k": null}}',
      });
      const clients: DiscoveryClients = { cloudformation, organizations: management, ec2, s3, lambda };

      // Act
      const result = await exportDiscovery(clients, deployment, { executionStartTime: START });

      // Assess
      expect(result).to.include({ part: 'metadata/discovery', status: 'ok', records: 1 });
      expect(result.warnings).to.have.length(1);
      expect(result.warnings![0]).to.match(/ForkOnlyParameter.*not columns of clonesquad_discovery/);
      const { record, text } = await writtenLine(result, deployment);
      expect(text).to.not.include(SECRET);
      expect(text).to.not.include('ApiSecret');
      expect(JSON.stringify(result)).to.not.include(SECRET);
      const { AccountJoinedTimestamp, AccountArn, DiscoveryLambdaIamRoleArn, InteractLambdaIamRoleArn, ...rest } =
        record;
      const roleArn = (logicalId: string) =>
        new RegExp(`^arn:aws:iam::123456789012:role/CloneSquad-${groupName}-${logicalId}-\\w+$`);
      expect(DiscoveryLambdaIamRoleArn).to.match(roleArn('DiscoveryFunctionRole'));
      expect(InteractLambdaIamRoleArn).to.match(roleArn('InteractFunctionRole'));
      expect(AccountJoinedTimestamp).to.match(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
      expect(AccountArn).to.match(new RegExp(`^arn:aws:organizations::\\d{12}:account/o-\\w+/${applied.accountId}$`));
      expect(rest).to.deep.equal({
        AccountEmail: 'ops@example.com',
        AccountJoinedMethod: 'CREATED',
        AccountName: 'Workloads',
        AccountState: 'ACTIVE',
        AccountStatus: 'ACTIVE',
        AlarmStateEC2Table: `CloneSquad-${groupName}-AlarmState-EC2`,
        ApiGwVpcEndpointDNSEntry: 'vpce-0abc-1234.execute-api.eu-west-1.vpce.amazonaws.com',
        CloneSquadStackName: `CloneSquad-${groupName}`,
        CloneSquadStackStatus: 'CREATE_COMPLETE',
        CloneSquadVersion: 'v0.27.1',
        ConfigTable: `arn:aws:dynamodb:eu-west-1:123456789012:table/CloneSquad-${groupName}-Configuration`,
        ConfigurationTable: `CloneSquad-${groupName}-Configuration`,
        EventTable: `CloneSquad-${groupName}-EventLog`,
        // CloneSquad's own install time (its Discovery function's), not the stack's last update.
        InstallTime: '2024-04-02 09:00:00.123',
        InteractAPIGWUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/',
        InteractAPIUrl: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/v1/',
        InteractApi: 'abc123defg',
        InteractQueue: 'https://sqs.eu-west-1.amazonaws.com/123456789012/CloneSquad-Interact',
        InternalERRORMainAlarm: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:errors',
        InternalERRORMainAlarmArn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:errors',
        LambdaMemorySize: '512',
        LogLevels: '*=INFO',
        LongTermEventTable: `CloneSquad-${groupName}-EventLog-LongTerm`,
        LongTermEventTableArn: `arn:aws:dynamodb:eu-west-1:123456789012:table/CloneSquad-${groupName}-EventLog-LongTerm`,
        MainFunctionIamRole: 'arn:aws:iam::123456789012:role/main-role',
        MainLambdaIamRoleArn: 'arn:aws:iam::123456789012:role/main-role',
        MetadataAndBackupS3Path: `s3://${bucket}/cmdb/org`,
        MetadataRecordLastUpdatedAt: '2024-06-01 10:00:00.000',
        SchedulerTable: `CloneSquad-${groupName}-Scheduler`,
        StateTable: `CloneSquad-${groupName}-State`,
        Subfleets: ['batch', 'web'],
        // The stack's own TimeZone, not the zone this deployment reads its localcron() in.
        TimeZone: 'Asia/Kolkata',
        UserSuppliedJSONMetadata: deployment.userSuppliedJsonMetadata,
        'X-CostCenter': '42',
        'X-Nested': '{"k":null}',
        'X-Owner': 'team-a',
        'X-Tags': '["a","b"]',
      });
    });

    it('still writes what is known when the stack does not exist, with a warning that names the fix', async () => {
      const groupName = uniqueName('nostack');
      await launch(groupName, 'solo');
      const deployment = deploymentFor(groupName, { userSuppliedJsonMetadata: '{"Owner": ' });
      const clients = { cloudformation, organizations: organizationsOf(freshAccountId()), ec2, s3, lambda };

      const result = await exportDiscovery(clients, deployment, { executionStartTime: START });

      expect(result.status).to.equal('ok');
      const warnings = result.warnings!.join('\n');
      expect(warnings).to.match(
        new RegExp(`stack "CloneSquad-${groupName}" does not exist.*Fix: .*CloneSquadStackName`),
      );
      expect(warnings).to.match(/not in an AWS Organization/);
      expect(warnings).to.match(/UserSuppliedJSONMetadata is not valid JSON.*only its raw text/);
      expect(result.warnings).to.have.length(3);
      const { record } = await writtenLine(result, deployment);
      expect(record).to.deep.equal({
        CloneSquadStackName: `CloneSquad-${groupName}`,
        ConfigurationTable: `CloneSquad-${groupName}-Configuration`,
        MetadataAndBackupS3Path: `s3://${bucket}/cmdb/org`,
        MetadataRecordLastUpdatedAt: '2024-06-01 10:00:00.000',
        SchedulerTable: `CloneSquad-${groupName}-Scheduler`,
        Subfleets: ['solo'],
        // The zone CloneSquad assumes for eu-west-1 when its stack does not say.
        TimeZone: 'Europe/Dublin',
        UserSuppliedJSONMetadata: '{"Owner": ',
      });
    });

    it('falls back on the stack UserSuppliedJSONMetadata when the deployment has none', async () => {
      const groupName = uniqueName('fallback');
      const seed = parseStackSeed({ parameters: { UserSuppliedJSONMetadata: '{"Team": "blue"}' } }, 'test');
      await applyStackSeed({ cloudformation }, groupName, seed);
      const deployment = deploymentFor(groupName);
      const clients = { cloudformation, organizations: organizationsOf(freshAccountId()), ec2, s3, lambda };

      const result = await exportDiscovery(clients, deployment, { executionStartTime: START });

      const { record } = await writtenLine(result, deployment);
      expect(record).to.include({
        UserSuppliedJSONMetadata: '{"Team": "blue"}',
        'X-Team': 'blue',
        TimeZone: 'Europe/Dublin',
      });
      expect(record.Subfleets).to.deep.equal([]);
      expect(record).to.not.have.property('CloneSquadVersion');
      expect(result.warnings).to.have.length(2);
      expect(result.warnings!.filter((warning) => warning.includes('Discovery function'))).to.deep.equal([
        `CloneSquad's Discovery function "CloneSquad-Discovery-${groupName}" could not be read ` +
          `(ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:123456789012:function:CloneSquad-Discovery-${groupName}) ` +
          'and the stack has no DiscoveryFunctionRole or InteractFunctionRole: ApiGwVpcEndpointDNSEntry, ' +
          'DiscoveryLambdaIamRoleArn and InteractLambdaIamRoleArn are left out. Fix: none needed unless the stack ' +
          "is CloneSquad's own template; then allow this service's role lambda:GetFunctionConfiguration on the " +
          'function (and kms:Decrypt on the key of its environment, if it has one)',
      ]);
    });

    it('leaves the Account fields out, with one warning, when Organizations refuses', async () => {
      const groupName = uniqueName('denied');
      const organizations = new OrganizationsClient({ region: 'us-east-1' });
      const organizationsMock = mockClient(organizations);
      organizationsMock
        .on(DescribeAccountCommand)
        .rejects(new AccessDeniedException({ message: 'You don’t have permissions', $metadata: {} }));
      const deployment = deploymentFor(groupName);

      const result = await exportDiscovery({ cloudformation, organizations, ec2, s3, lambda }, deployment, {
        executionStartTime: START,
      });

      const accountWarnings = result.warnings!.filter((warning) => warning.includes('DescribeAccount'));
      expect(accountWarnings).to.have.length(1);
      expect(accountWarnings[0]).to.match(/was refused .*management account or a delegated administrator/);
      const { record } = await writtenLine(result, deployment);
      expect(Object.keys(record).filter((name) => name.startsWith('Account'))).to.deep.equal([]);
    });

    it("takes the role ARNs from the stack's resources when its Discovery function cannot be read", async () => {
      // Prepare
      const groupName = uniqueName('roles');
      const seed = parseStackSeed(
        { discoveryFunction: { environment: { ApiGwVpcEndpointDNSEntry: 'vpce-1.example' } } },
        'test',
      );
      const applied = await applyStackSeed({ cloudformation }, groupName, seed);
      const roleName = async (logicalId: string) =>
        (
          await cloudformation.send(
            new DescribeStackResourceCommand({ StackName: applied.stackId, LogicalResourceId: logicalId }),
          )
        ).StackResourceDetail!.PhysicalResourceId!;
      const refusing = new LambdaClient({ region: 'eu-west-1' });
      mockClient(refusing)
        .on(GetFunctionConfigurationCommand)
        .rejects(
          Object.assign(new Error('User is not authorized to perform: lambda:GetFunctionConfiguration'), {
            name: 'AccessDeniedException',
          }),
        );
      const deployment = deploymentFor(groupName);
      const clients = { cloudformation, organizations: organizationsOf(freshAccountId()), ec2, s3, lambda: refusing };

      // Act
      const result = await exportDiscovery(clients, deployment, { executionStartTime: START });

      // Assess
      const { record } = await writtenLine(result, deployment);
      expect(record).to.include({
        DiscoveryLambdaIamRoleArn: `arn:aws:iam::123456789012:role/${await roleName('DiscoveryFunctionRole')}`,
        InteractLambdaIamRoleArn: `arn:aws:iam::123456789012:role/${await roleName('InteractFunctionRole')}`,
      });
      expect(record).to.not.have.property('ApiGwVpcEndpointDNSEntry');
      const functionWarnings = result.warnings!.filter((warning) => warning.includes('Discovery function'));
      expect(functionWarnings).to.deep.equal([
        `CloneSquad's Discovery function "CloneSquad-Discovery-${groupName}" could not be read ` +
          '(AccessDeniedException: User is not authorized to perform: lambda:GetFunctionConfiguration): ' +
          'ApiGwVpcEndpointDNSEntry is left out; DiscoveryLambdaIamRoleArn and InteractLambdaIamRoleArn come from ' +
          "the stack's resources. Fix: none needed " +
          "unless the stack is CloneSquad's own template; then allow this service's role " +
          'lambda:GetFunctionConfiguration on the function (and kms:Decrypt on the key of its environment, if it has one)',
      ]);
    });
  });

  describe('with mocked clients', () => {
    it('drops a masked parameter, and takes from the Discovery function only what the stack does not show', async () => {
      const cloudformation = new CloudFormationClient({ region: 'eu-west-1' });
      const mock = mockClient(cloudformation);
      mock.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: 'CloneSquad-g',
            StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/CloneSquad-g/1',
            StackStatus: 'UPDATE_COMPLETE',
            CreationTime: new Date('2021-01-01T00:00:00Z'),
            LastUpdatedTime: new Date('2023-02-03T04:05:06.789Z'),
            Parameters: [
              { ParameterKey: 'LogLevels', ParameterValue: '****' },
              { ParameterKey: 'LambdaMemorySize', ParameterValue: '1024' },
            ],
          },
        ],
      });
      mock.on(GetTemplateSummaryCommand).resolves({ Parameters: [{ ParameterKey: 'LogLevels', NoEcho: false }] });
      mock.on(GetTemplateCommand).resolves({ TemplateBody: '{"Resources": {}}' });
      mock.on(DescribeStackResourceCommand, { LogicalResourceId: 'DiscoveryFunction' }).resolves({
        StackResourceDetail: {
          LogicalResourceId: 'DiscoveryFunction',
          PhysicalResourceId: 'CloneSquad-Discovery-g-renamed',
          ResourceType: 'AWS::Lambda::Function',
          ResourceStatus: 'UPDATE_COMPLETE',
          LastUpdatedTimestamp: new Date('2023-02-03T04:05:06.789Z'),
        },
      });
      const lambda = new LambdaClient({ region: 'eu-west-1' });
      const role = (name: string) => `arn:aws:iam::123456789012:role/CloneSquad-g-${name}-1A2B`;
      mockClient(lambda)
        .on(GetFunctionConfigurationCommand, { FunctionName: 'CloneSquad-Discovery-g-renamed' })
        .resolves({
          Environment: {
            Variables: {
              GroupName: 'g',
              ACCOUNT_ID: '123456789012',
              CLONESQUAD_LOGLEVELS: '*=DEBUG',
              ScaleUp_SNSTopicArn: 'arn:aws:sns:eu-west-1:123456789012:CloneSquad-ScaleUp-g',
              TimeZone: '',
              ApiGwVpcEndpointDNSEntry: '',
              DiscoveryLambdaIamRoleArn: role('DiscoveryFunctionRole'),
              InteractLambdaIamRoleArn: role('InteractFunctionRole'),
              InstallTime: '2023-05-06 07:08:09+00:00',
            },
          },
        });
      const ec2 = new EC2Client({ region: 'eu-west-1' });
      mockClient(ec2).on(DescribeTagsCommand).resolves({ Tags: [] });
      const organizations = new OrganizationsClient({ region: 'us-east-1' });
      mockClient(organizations)
        .on(DescribeAccountCommand)
        .resolves({ Account: { Name: 'n', Email: 'e@x.io' } });
      const { s3 } = emulatorClients();
      const bucket = await createBucket(s3);
      const deployment: Deployment = {
        groupName: 'g',
        accountId: '123456789012',
        region: 'eu-west-1',
        destination: { bucket, prefix: '' },
        tables: { configuration: 'c', scheduler: 's' },
        timeZone: 'UTC',
        cloneSquadStackName: 'CloneSquad-g',
        userSuppliedJsonMetadata: '',
      };

      const result = await exportDiscovery({ cloudformation, organizations, ec2, s3, lambda }, deployment, {
        executionStartTime: START,
      });

      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: result.keys![0] }));
      const record = JSON.parse(gunzipSync(await object.Body!.transformToByteArray()).toString('utf8'));
      expect(record).to.not.have.property('LogLevels');
      expect(record).to.include({
        LambdaMemorySize: '1024',
        ApiGwVpcEndpointDNSEntry: '',
        DiscoveryLambdaIamRoleArn: role('DiscoveryFunctionRole'),
        InteractLambdaIamRoleArn: role('InteractFunctionRole'),
        InstallTime: '2023-05-06 07:08:09.000',
        TimeZone: 'Europe/Dublin',
        CloneSquadStackStatus: 'UPDATE_COMPLETE',
        AccountName: 'n',
        AccountEmail: 'e@x.io',
      });
      for (const variable of ['ACCOUNT_ID', 'CLONESQUAD_LOGLEVELS', 'ScaleUp_SNSTopicArn', 'GroupName']) {
        expect(record).to.not.have.property(variable);
      }
      expect(recordProblems(TABLES.discovery, record)).to.deep.equal([]);
      expect(result.warnings).to.equal(undefined);
    });

    it('lists subfleets from tags alone: the group members, their subfleet tag in chunks, minus ended instances', async () => {
      // Prepare
      const ec2 = new EC2Client({ region: 'eu-west-1' });
      const calls: { command: string; input: object }[] = [];
      const members = Array.from({ length: 450 }, (_, index) => `i-${String(index).padStart(17, '0')}`);
      const subfleetOf = (id: string) => {
        const index = Number(id.slice(2));
        if (index % 5 === 0) return undefined;
        return index === 449 ? 'ended-only' : ['web', 'batch', 'api', ''][index % 4];
      };
      const mock = mockClient(ec2);
      mock.on(DescribeTagsCommand).callsFake((input: DescribeTagsCommandInput) => {
        calls.push({ command: 'DescribeTags', input: JSON.parse(JSON.stringify(input)) });
        const filter = (name: string) => input.Filters!.find((candidate) => candidate.Name === name)?.Values ?? [];
        if (filter('key')[0] === 'clonesquad:group-name') {
          const page = input.NextToken ? 1 : 0;
          const ids = page === 0 ? members.slice(0, 300) : members.slice(300);
          const tags = ids.map((ResourceId) => ({ ResourceId, Key: 'clonesquad:group-name', Value: 'grp' }));
          return { Tags: tags, ...(page === 0 ? { NextToken: 'members-2' } : {}) };
        }
        const tags = filter('resource-id').flatMap((ResourceId) => {
          const Value = subfleetOf(ResourceId);
          return Value === undefined ? [] : [{ ResourceId, Key: 'clonesquad:subfleet-name', Value }];
        });
        return { Tags: tags };
      });
      mock.on(DescribeInstanceStatusCommand).callsFake((input: DescribeInstanceStatusCommandInput) => {
        calls.push({ command: 'DescribeInstanceStatus', input: JSON.parse(JSON.stringify(input)) });
        return input.NextToken
          ? { InstanceStatuses: [{ InstanceId: members[449], InstanceState: { Name: 'shutting-down' } }] }
          : { InstanceStatuses: [{ InstanceId: 'i-of-another-group' }], NextToken: 'ended-2' };
      });

      // Act
      const subfleets = await listSubfleets(ec2, 'grp');

      // Assess
      expect(subfleets).to.deep.equal(['api', 'batch', 'web']);
      const membersFilters = [
        { Name: 'resource-type', Values: ['instance'] },
        { Name: 'key', Values: ['clonesquad:group-name'] },
        { Name: 'value', Values: ['grp'] },
      ];
      const subfleetFilters = (ids: string[]) => [
        { Name: 'resource-type', Values: ['instance'] },
        { Name: 'key', Values: ['clonesquad:subfleet-name'] },
        { Name: 'resource-id', Values: ids },
      ];
      const endedInput = {
        IncludeAllInstances: true,
        Filters: [{ Name: 'instance-state-name', Values: ['shutting-down', 'terminated'] }],
        MaxResults: 1000,
      };
      expect(calls).to.deep.equal([
        { command: 'DescribeTags', input: { Filters: membersFilters, MaxResults: 1000 } },
        { command: 'DescribeTags', input: { Filters: membersFilters, MaxResults: 1000, NextToken: 'members-2' } },
        { command: 'DescribeTags', input: { Filters: subfleetFilters(members.slice(0, 198)), MaxResults: 1000 } },
        { command: 'DescribeTags', input: { Filters: subfleetFilters(members.slice(198, 396)), MaxResults: 1000 } },
        { command: 'DescribeTags', input: { Filters: subfleetFilters(members.slice(396)), MaxResults: 1000 } },
        { command: 'DescribeInstanceStatus', input: endedInput },
        { command: 'DescribeInstanceStatus', input: { ...endedInput, NextToken: 'ended-2' } },
      ]);
    });

    it('asks for subfleet tags and instance states only when there is something to look up', async () => {
      const ec2 = new EC2Client({ region: 'eu-west-1' });
      const mock = mockClient(ec2);
      mock.on(DescribeTagsCommand).resolves({ Tags: [] });

      expect(await listSubfleets(ec2, 'empty')).to.deep.equal([]);
      expect(mock.calls().map((call) => call.args[0].constructor.name)).to.deep.equal(['DescribeTagsCommand']);

      mock.reset();
      mock
        .on(DescribeTagsCommand)
        .resolvesOnce({ Tags: [{ ResourceId: 'i-1', Key: 'clonesquad:group-name', Value: 'main-only' }] })
        .resolves({ Tags: [] });
      expect(await listSubfleets(ec2, 'main-only')).to.deep.equal([]);
      expect(mock.calls().map((call) => call.args[0].constructor.name)).to.deep.equal([
        'DescribeTagsCommand',
        'DescribeTagsCommand',
      ]);
    });
  });

  describe('record rules', () => {
    const deployment: Deployment = {
      groupName: 'blue',
      accountId: '111122223333',
      region: 'eu-west-1',
      destination: { bucket: 'cmdb', prefix: '' },
      tables: { configuration: 'c', scheduler: 's' },
      timeZone: 'UTC',
      cloneSquadStackName: 'CloneSquad-green',
      userSuppliedJsonMetadata: '',
    };
    const stack = {
      name: 'CloneSquad-green',
      status: 'CREATE_COMPLETE',
      parameters: { GroupName: 'green', region: 'eu-west-1' },
      outputs: { GroupName: 'green', AccountId: '999999999999' },
      installTime: new Date('2022-01-01T00:00:00Z'),
    };

    it('leaves partition-column fields out and reports a stack of another group or account', () => {
      const { record, warnings } = buildDiscoveryRecord({
        deployment,
        stack,
        account: {},
        subfleets: [],
        executionStartTime: START,
      });
      expect(Object.keys(record).map((name) => name.toLowerCase())).to.not.include.members([
        'groupname',
        'region',
        'accountid',
      ]);
      expect(recordProblems(TABLES.discovery, record)).to.deep.equal([]);
      expect(warnings).to.have.length(3);
      expect(warnings[0]).to.match(/has GroupName "green", not "blue".*check CloneSquadStackName/);
      expect(warnings.join('\n')).to.match(/AccountId "999999999999"/);
    });

    it("writes the stack's TimeZone, else the zone CloneSquad assumes for the region; an override wins", () => {
      const timeZone = (region: string, stackTimeZone: string | undefined, timeZoneOverride?: string) =>
        buildDiscoveryRecord({
          deployment: { ...deployment, region, timeZone: 'Pacific/Auckland' },
          stack: stackTimeZone === undefined ? undefined : { ...stack, parameters: { TimeZone: stackTimeZone } },
          account: {},
          subfleets: [],
          executionStartTime: START,
          ...(timeZoneOverride === undefined ? {} : { timeZoneOverride }),
        }).record.TimeZone;
      expect(timeZone('eu-west-3', 'Asia/Kolkata')).to.equal('Asia/Kolkata');
      expect(timeZone('eu-west-3', '')).to.equal('Europe/Paris');
      expect(timeZone('eu-west-3', 'None')).to.equal('Europe/Paris');
      expect(timeZone('us-east-1', undefined)).to.equal('America/New_York');
      expect(timeZone('il-central-1', '')).to.equal('UTC');
      expect(timeZone('eu-west-3', 'Asia/Kolkata', 'America/Chicago')).to.equal('America/Chicago');
    });

    it("reads CloneSquad's InstallTime as Python writes an aware datetime, and nothing else", () => {
      const read = (text: string) => parseCloneSquadTime(text)?.toISOString();
      expect(read('2024-04-02 09:00:00.123456+00:00')).to.equal('2024-04-02T09:00:00.123Z');
      expect(read('2024-04-02 11:00:00+02:00')).to.equal('2024-04-02T09:00:00.000Z');
      expect(read('2024-04-02T09:00:00Z')).to.equal('2024-04-02T09:00:00.000Z');
      expect(read('2024-04-02 09:00:00')).to.equal('2024-04-02T09:00:00.000Z');
      for (const text of ['', 'None', '2024-04-02', '2024-13-02 09:00:00+00:00', '1712048400']) {
        expect(read(text), text).to.equal(undefined);
      }
    });

    it('turns a JSON object into X- text fields, anything else into a warning and the raw text only', () => {
      expect(userMetadataFields('')).to.deep.equal({ fields: {} });
      expect(userMetadataFields('{"a": "x", "b": 1.5, "c": true, "d": null, "e": [1], "f": {}}')).to.deep.equal({
        fields: { 'X-a': 'x', 'X-b': '1.5', 'X-c': 'true', 'X-d': 'null', 'X-e': '[1]', 'X-f': '{}' },
      });
      const duplicate = userMetadataFields('{"Owner": "a", "owner": "b"}');
      expect(duplicate.fields).to.deep.equal({ 'X-Owner': 'a' });
      expect(duplicate.warning).to.match(/"owner" differ from an earlier key only by case/);
      for (const [text, kind] of [
        ['[1, 2]', 'an array'],
        ['"text"', 'a string'],
        ['42', 'a number'],
        ['null', 'null'],
      ]) {
        const parsed = userMetadataFields(text);
        expect(parsed.fields, text).to.deep.equal({});
        expect(parsed.warning, text).to.include(`JSON but ${kind}, not an object`);
      }
      const invalid = userMetadataFields('{not json');
      expect(invalid.fields).to.deep.equal({});
      expect(invalid.warning).to.match(/^UserSuppliedJSONMetadata is not valid JSON \(.+\).*Fix: redeploy/);
    });

    it('accepts X- fields in the schema check, and only those', () => {
      expect(recordProblems(TABLES.discovery, { 'X-anything': 'v', Subfleets: ['a'] })).to.deep.equal([]);
      expect(recordProblems(TABLES.discovery, { 'Y-anything': 'v' })).to.have.length(1);
    });

    it('has the columns the displayallhostnames view reads, and no two equal but for case', () => {
      const names = TABLES.discovery.columns.map((column) => column.name);
      expect(names).to.include.members(['InteractAPIGWUrl', 'CloneSquadVersion', 'AccountName', 'AccountEmail']);
      expect(new Set(names.map((name) => name.toLowerCase())).size).to.equal(names.length);
    });

    it('finds CloneSquadVersion in a JSON or YAML template, short tags included', () => {
      const yamlTemplate = [
        'Resources:',
        '  Params:',
        '    Type: Custom::CustomResourceFunction',
        '    Properties:',
        '      ServiceToken: !GetAtt CustomResourceFunction.Arn',
        '      Name: !Sub "CloneSquad-${GroupName}"',
        '  DiscoveryFunction:',
        '    Type: AWS::Serverless::Function',
        '    Properties:',
        '      Environment:',
        '        Variables:',
        '          CloneSquadVersion: v0.27.1',
      ].join('\n');
      expect(templateVersion(yamlTemplate)).to.equal('v0.27.1');
      expect(templateVersion('{"Resources": {"A": {"Properties": {"CloneSquadVersion": ""}}}}')).to.equal(undefined);
      expect(templateVersion('{"Resources": {"A": {"Metadata": {"CloneSquadVersion": "v1"}}}}')).to.equal('v1');
      expect(templateVersion('Resources: [unclosed')).to.be.instanceOf(Error);
    });
  });

  describe('seed sections', () => {
    const rejects = (section: unknown, pattern: RegExp) =>
      expect(() => parseStackSeed(section, 'seed.yaml')).to.throw(pattern);

    it('reads a stack section with defaults', () => {
      expect(parseStackSeed({ outputs: { InteractAPIUrl: 'https://x' } }, 'seed.yaml')).to.deep.equal({
        parameters: {},
        noEcho: [],
        outputs: { InteractAPIUrl: 'https://x' },
      });
    });

    it("reads a discoveryFunction section: the variables of CloneSquad's Discovery function", () => {
      expect(parseStackSeed({ discoveryFunction: {} }, 'seed.yaml')).to.deep.equal({
        parameters: {},
        noEcho: [],
        outputs: {},
        discoveryFunction: { environment: {} },
      });
      expect(
        parseStackSeed({ discoveryFunction: { environment: { ApiGwVpcEndpointDNSEntry: 'vpce-1' } } }, 'seed.yaml')
          .discoveryFunction,
      ).to.deep.equal({ environment: { ApiGwVpcEndpointDNSEntry: 'vpce-1' } });
      rejects({ discoveryFunction: [] }, /section stack, discoveryFunction: it is not a mapping/);
      rejects(
        { discoveryFunction: { env: {} } },
        /discoveryFunction: "env" is not a known field. Fix: use only environment/,
      );
      rejects(
        { discoveryFunction: { environment: { DiscoveryLambdaIamRoleArn: 'x' } } },
        /variable DiscoveryLambdaIamRoleArn: the stack sets it. Fix: remove it from the environment/,
      );
      rejects(
        { discoveryFunction: { environment: { 'Api-Entry': 'x' } } },
        /variable "Api-Entry": Lambda variable names hold only letters, digits and "_", and do not begin with a digit/,
      );
      rejects(
        { discoveryFunction: { environment: { InstallTime: 7 } } },
        /variable "InstallTime": its value 7 is not a string. Fix: quote it/,
      );
    });

    it('refuses what CloudFormation or the exporter would not take, naming the fix', () => {
      rejects([], /section stack: it is not a mapping/);
      rejects({ parameter: {} }, /"parameter" is not a known field. Fix: use only name, version/);
      rejects(
        { parameters: { LambdaMemorySize: 512 } },
        /parameter "LambdaMemorySize": its value 512 is not a string. Fix: quote it/,
      );
      rejects(
        { parameters: { 'Bad-Name': 'x' } },
        /parameter "Bad-Name": CloudFormation names may hold only letters and digits/,
      );
      rejects({ parameters: { GroupName: 'x' } }, /parameter GroupName: it is set from the seed file groupName/);
      rejects({ parameters: { A: 'x' }, noEcho: ['B'] }, /noEcho "B": it names no parameter/);
      rejects({ noEcho: 'A' }, /noEcho: it is not a list of parameter names/);
      rejects({ name: '1-stack' }, /name "1-stack": it is not a valid stack name/);
      expect(() => parseOrganizationSeed({ accountName: 'x' }, 'seed.yaml')).to.throw(/set both, or neither/);
      expect(() => parseOrganizationSeed({ accountName: 'x', accountEmail: 'nope' }, 'seed.yaml')).to.throw(
        /"nope" is not an e-mail address/,
      );
      expect(parseOrganizationSeed(null, 'seed.yaml')).to.deep.equal({});
    });
  });
});
