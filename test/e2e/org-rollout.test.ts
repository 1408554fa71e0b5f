/**
 * The rollout to a whole Organization, as far as the emulator goes: the templates pass cfn-lint;
 * publish writes the code and the regional template to every target region's artifact bucket, with
 * the central stack's outputs as parameters; a service-managed StackSet of that template (created from
 * its URL) gets one stack instance per account of the OU and region; and the central account's trigger
 * starts the crawler on a new-partition marker, and on nothing else.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CloudFormationClient,
  CreateStackCommand,
  CreateStackSetCommand,
  DescribeStackSetCommand,
} from '@aws-sdk/client-cloudformation';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetCrawlerCommand, GlueClient, StopCrawlerCommand } from '@aws-sdk/client-glue';
import { CreateOrganizationCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { CreateBucketCommand, GetObjectCommand, S3Client, type BucketLocationConstraint } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'chai';
import { publishService } from '#cli/publish';
import { artifactBucketName, artifactsStackTemplate } from '#infra/artifacts';
import { catalogStackTemplate, newPartitionEventPattern } from '#infra/catalog-stack';
import { GENERATED_STACKSET, stackSetTemplate } from '#infra/stackset';
import { crawlerTriggerDefinition } from '#glue/catalog';
import { createCatalog } from '#local/catalog';
import { ensurePythonEnv, venvBin } from '#local/python-env';
import { runWorkflow } from '#local/workflow';
import { clientSettings, s3ClientSettings } from '#shared/aws/clients';
import { newPartitionMarkerKey, newPartitionsFolder } from '#shared/aws/s3-layout';
import { uniqueName } from '#test/support/aws';

const run = promisify(execFile);

async function cfnLint(template: unknown): Promise<string> {
  ensurePythonEnv();
  const folder = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  try {
    const file = join(folder, 'template.json');
    writeFileSync(file, JSON.stringify(template));
    const result = await run(venvBin('cfn-lint'), [file]).catch((error: { stdout: string }) => ({
      stdout: error.stdout,
    }));
    return result.stdout.trim();
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('the Organization rollout (StackSet, artifacts, catalog freshness)', function () {
  this.timeout(240_000);

  it('ships templates cfn-lint accepts: the StackSet, an artifact bucket, the catalog and its trigger', async () => {
    expect(await cfnLint(stackSetTemplate())).to.equal('');
    expect(await cfnLint(artifactsStackTemplate())).to.equal('');
    expect(await cfnLint(catalogStackTemplate())).to.equal('');
    const generated = (await import(GENERATED_STACKSET, { with: { type: 'json' } })).default as unknown;
    expect(generated, 'infra/generated/stackset.json is what npm run generate writes').to.deep.equal(
      stackSetTemplate(),
    );
  });

  it('rolls the service out with service-managed permissions, automatically to every account of the OUs', () => {
    const { Properties } = (stackSetTemplate().Resources as Record<string, { Properties: Record<string, unknown> }>)
      .RegionalServiceStackSet;
    expect(Properties).to.deep.include({
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
    });
  });

  describe('publish, then a StackSet of what it published (the emulator)', () => {
    const regions = ['eu-west-1', 'eu-west-3'];
    const cloudformation = new CloudFormationClient(clientSettings());
    const centralStack = uniqueName('clonesquad-central');
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    let published: Awaited<ReturnType<typeof publishService>>;

    before(async () => {
      // The central stack's outputs, and the artifact buckets its StackSet creates in each region.
      await cloudformation.send(
        new CreateStackCommand({
          StackName: centralStack,
          TemplateBody: JSON.stringify({
            Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
            Outputs: {
              MetadataAndBackupS3Path: { Value: 's3://org-clonesquad-cmdb/clonesquad' },
              KmsKeyArn: { Value: kmsKeyArn },
            },
          }),
        }),
      );
      for (const region of regions) {
        await new S3Client({ ...s3ClientSettings(), region }).send(
          new CreateBucketCommand({
            Bucket: artifactBucketName('123456789012', region),
            CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint },
          }),
        );
      }
      published = await publishService({ regions, centralStack, params: [], region: 'eu-west-1' });
    });

    it("writes the code and the template to every target region's artifact bucket, under one version", () => {
      const files = [
        ...[
          'planRun',
          'backupTable',
          'exportDiscovery',
          'exportInstances',
          'exportMaintenanceWindows',
          'archiveBackups',
          'summarize',
          'reconcileGroups',
          'startScheduledRun',
          'backupStatus',
        ].map((name) => `${name}.zip`),
        'regional-template.json',
      ];
      expect(published.version).to.match(/^[0-9a-f]{16}$/);
      expect(published.objects.sort()).to.deep.equal(
        regions
          .flatMap((region) =>
            files.map((file) => `s3://${artifactBucketName('123456789012', region)}/${published.version}/${file}`),
          )
          .sort(),
      );
      expect(published.templateUrl).to.equal(
        `https://${artifactBucketName('123456789012', 'eu-west-1')}.s3.eu-west-1.amazonaws.com/${published.version}/regional-template.json`,
      );
    });

    it("publishes a template that reads its code from the region's bucket, with the central stack's outputs", async () => {
      const s3 = new S3Client({ ...s3ClientSettings(), region: 'eu-west-3' });
      const object = await s3.send(
        new GetObjectCommand({
          Bucket: artifactBucketName('123456789012', 'eu-west-3'),
          Key: `${published.version}/regional-template.json`,
        }),
      );
      const template = JSON.parse(await object.Body!.transformToString()) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      expect(Object.keys(template.Resources)).to.not.include('ServerlessDeploymentBucket');
      const plan = template.Resources.PlanRunLambdaFunction.Properties;
      expect(plan.Code).to.deep.equal({
        S3Bucket: { 'Fn::Sub': 'clonesquad-backup-cmdb-artifacts-123456789012-${AWS::Region}' },
        S3Key: `${published.version}/planRun.zip`,
      });
      expect((plan.Environment as { Variables: Record<string, unknown> }).Variables).to.deep.include({
        GROUP_NAME: '',
        METADATA_AND_BACKUP_S3_PATH: 's3://org-clonesquad-cmdb/clonesquad',
        KMS_KEY_ARN: kmsKeyArn,
      });
      expect(await cfnLint(template)).to.equal('');
    });

    it('publishes the same content to the same keys, writing nothing new', async () => {
      const lines: string[] = [];
      const again = await publishService({
        regions,
        centralStack,
        params: [],
        region: 'eu-west-1',
        progress: (line) => lines.push(line),
      });
      expect(again.version).to.equal(published.version);
      expect(lines.filter((line) => line.includes('s3://'))).to.deep.equal([]);
    });

    it('creates the service-managed StackSet from the published URL (what the emulator models of it)', async () => {
      // Prepare: the Organization the StackSet deploys to
      const organizations = new OrganizationsClient(clientSettings());
      await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' })).catch((error: Error) => {
        if (error.name !== 'AlreadyInOrganizationException') throw error;
      });
      const stackSetName = uniqueName('clonesquad-backup-cmdb');
      const { Properties } = (stackSetTemplate().Resources as Record<string, { Properties: Record<string, unknown> }>)
        .RegionalServiceStackSet;

      // Act: the StackSet as its template declares it, from the published template
      await cloudformation.send(
        new CreateStackSetCommand({
          StackSetName: stackSetName,
          TemplateURL: published.templateUrl,
          PermissionModel: Properties.PermissionModel as 'SERVICE_MANAGED',
          AutoDeployment: Properties.AutoDeployment as { Enabled: boolean; RetainStacksOnAccountRemoval: boolean },
          Capabilities: Properties.Capabilities as ('CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM')[],
        }),
      );

      // Assess: the emulator read the template from its URL. It stops there: creating stack instances,
      // it creates each stack's resources with its own CloudFormation, which cannot build this template's.
      const { StackSet } = await cloudformation.send(new DescribeStackSetCommand({ StackSetName: stackSetName }));
      expect(StackSet?.PermissionModel).to.equal('SERVICE_MANAGED');
      const s3 = new S3Client({ ...s3ClientSettings(), region: 'eu-west-1' });
      const object = await s3.send(
        new GetObjectCommand({
          Bucket: artifactBucketName('123456789012', 'eu-west-1'),
          Key: `${published.version}/regional-template.json`,
        }),
      );
      expect(JSON.parse(StackSet!.TemplateBody!)).to.deep.equal(JSON.parse(await object.Body!.transformToString()));
    });

    it('refuses a region whose artifact bucket is missing, naming the fix', async () => {
      let message = '';
      await publishService({ regions: ['ap-south-1'], centralStack, params: [], region: 'eu-west-1' }).catch(
        (error: Error) => (message = error.message),
      );
      expect(message).to.equal(
        'artifact bucket clonesquad-backup-cmdb-artifacts-123456789012-ap-south-1: it does not exist (or this account ' +
          "cannot reach it) in ap-south-1. Fix: add ap-south-1 to the central bucket stack's ArtifactRegions " +
          'parameter and update that stack',
      );
    });
  });

  describe("the central account's trigger of new partitions", () => {
    const root = { bucket: uniqueName('org-cmdb'), prefix: 'clonesquad' };
    const id = { accountId: '210987654321', region: 'eu-west-3', groupName: 'web' };

    it('sends the markers to the crawler, and no metadata object (EventBridge as the emulator matches it)', async () => {
      // Prepare: the rule's pattern for this bucket, delivering to a queue we can read
      const events = new EventBridgeClient(clientSettings());
      const sqs = new SQSClient(clientSettings());
      const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('markers') }))).QueueUrl!;
      const queueArn = (
        await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
      ).Attributes!.QueueArn!;
      const pattern = JSON.parse(
        JSON.stringify(newPartitionEventPattern(`${newPartitionsFolder(root)}/`)).replace(
          JSON.stringify({ Ref: 'BucketName' }),
          JSON.stringify(root.bucket),
        ),
      ) as unknown;
      const rule = uniqueName('new-partitions');
      await events.send(new PutRuleCommand({ Name: rule, EventPattern: JSON.stringify(pattern) }));
      await events.send(new PutTargetsCommand({ Rule: rule, Targets: [{ Id: 'queue', Arn: queueArn }] }));

      // Act
      const created = (key: string, bucket = root.bucket) => ({
        Source: 'aws.s3',
        DetailType: 'Object Created',
        Detail: JSON.stringify({ bucket: { name: bucket }, object: { key } }),
      });
      const marker = newPartitionMarkerKey(root, id, 'instances');
      await events.send(
        new PutEventsCommand({
          Entries: [
            created(marker),
            created(`clonesquad/metadata/instances/accountid=${id.accountId}/region=eu-west-3/groupname=web/x.json.gz`),
            created(marker, 'another-bucket'),
          ],
        }),
      );

      // Assess
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
      );
      expect(
        Messages.map(
          (message) => (JSON.parse(message.Body!) as { detail: { object: { key: string } } }).detail.object.key,
        ),
      ).to.deep.equal([marker]);
      expect(marker).to.equal(
        'clonesquad/metadata/_new-partitions/accountid=210987654321/region=eu-west-3/groupname=web/instances',
      );
    });

    it('starts the crawler; while a crawl is under way, tries again until it can start it', async () => {
      // Prepare: the catalog in the emulator, a crawl under way, the trigger's definition in a file
      const glue = new GlueClient(clientSettings());
      const catalog = await createCatalog(glue, root, { crawlerName: uniqueName('cmdb-crawler') });
      const folder = mkdtempSync(join(tmpdir(), 'trigger-'));
      const definitionPath = join(folder, 'trigger.json');
      writeFileSync(definitionPath, JSON.stringify(crawlerTriggerDefinition(catalog.crawlerName)));
      const state = async () => (await glue.send(new GetCrawlerCommand({ Name: catalog.crawlerName }))).Crawler?.State;
      try {
        const first = await runWorkflow({}, { definitionPath });
        expect(first.status).to.equal('SUCCEEDED');
        expect(await state()).to.equal('RUNNING');

        // Act: a second marker while it runs; the crawl ends after the trigger's first try
        let attempts = 0;
        const second = await runWorkflow(
          {},
          {
            definitionPath,
            aroundTask: async (_state, invoke) => {
              attempts += 1;
              try {
                return await invoke();
              } finally {
                if (attempts === 1) await glue.send(new StopCrawlerCommand({ Name: catalog.crawlerName }));
              }
            },
          },
        );

        // Assess
        expect(second.status).to.equal('SUCCEEDED');
        expect(attempts).to.be.greaterThan(1);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  });
});
