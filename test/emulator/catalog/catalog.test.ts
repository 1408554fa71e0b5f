import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GetCrawlerCommand,
  GetTablesCommand,
  GlueClient,
  ListCrawlsCommand,
  StartCrawlerCommand,
} from '@aws-sdk/client-glue';
import { expect } from 'chai';
import { GENERATED_STACK, INLINE_TEMPLATE_LIMIT, catalogStackJson, catalogStackTemplate } from '#infra/catalog-stack';
import { DEFAULT_DATABASE, tableLocation } from '#glue/catalog';
import { GENERATED_DDL, generatedDdlFiles, tableDdl } from '#glue/ddl';
import { JSON_SERDE, TABLES, glueColumns, gluePartitionKeys } from '#shared/catalog/schema';
import { createCatalog } from '#local/catalog';
import { ensurePythonEnv, PROJECT_ROOT, venvBin } from '#local/python-env';
import { clientSettings } from '#shared/aws/clients';
import { METADATA_TABLES, metadataTableFolder, type MetadataTable } from '#shared/aws/s3-layout';
import { uniqueName } from '#test/support/aws';

/** The view the original CloneSquad CMDB documents, verbatim: saved queries of migrating users use it. */
const ORIGINAL_VIEW = `CREATE OR REPLACE VIEW displayallhostnames AS
SELECT "_hostname" "Hostname", "interactapigwurl" as "InteractAPIGWUrl",
  "d"."CloneSquadVersion" as "CloneSquadVersion", "i"."accountid" as AccountId,
  "d"."AccountName" as AccountName, "d"."AccountEmail" as AccountEmail,
  "i"."region" as Region, "i"."groupname" as GroupName, "i"."_subfleetname" as SubfleetName
FROM default.clonesquad_instances i, default.clonesquad_discovery d
WHERE "i"."accountid" = "d"."accountid" AND "i"."region" = "d"."region"
  AND "i"."groupname" = "d"."groupname"
`;

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Condition?: string;
  Properties: Json;
}

/**
 * Evaluates the intrinsic functions the catalog template uses, for given parameter values, so
 * tests compare resolved values with the layout helpers.
 */
function resolveTemplate(template: Json, parameters: Record<string, string>) {
  const pseudo = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'eu-west-1',
    'AWS::AccountId': '111122223333',
    'AWS::StackName': 'clonesquad-cmdb-catalog',
  };
  const values: Record<string, string> = {
    ...pseudo,
    ...Object.fromEntries(
      Object.entries(template.Parameters as Record<string, { Default?: string }>).map(([name, p]) => [
        name,
        parameters[name] ?? p.Default ?? '',
      ]),
    ),
  };
  const resources = template.Resources as Record<string, Resource>;
  const conditions = template.Conditions as Json;
  const condition = (name: string): boolean => evaluate(conditions[name]) as boolean;
  function evaluate(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(evaluate).filter((item) => item !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const object = node as Json;
    if ('Ref' in object) {
      const name = object.Ref as string;
      if (name === 'AWS::NoValue') return NO_VALUE;
      if (name in values) return values[name];
      if (resources[name]?.Type === 'AWS::Glue::Table') {
        return ((resources[name].Properties.TableInput as Json).Name as string) ?? name;
      }
      if (resources[name]?.Type === 'AWS::Glue::Database') return values.DatabaseName;
      if (resources[name]?.Type === 'AWS::Glue::Crawler') return values.CrawlerName;
      // Any other resource of the template: its physical id, unknown before deployment.
      if (name in resources) return `<${name}>`;
      throw new Error(`unresolved Ref ${name}`);
    }
    if ('Fn::Sub' in object) {
      const [text, variables] =
        typeof object['Fn::Sub'] === 'string'
          ? [object['Fn::Sub'], {}]
          : (object['Fn::Sub'] as [string, Record<string, unknown>]);
      return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
        if (name in variables) return String(evaluate(variables[name]));
        if (!(name in values)) throw new Error(`unresolved \${${name}}`);
        return values[name];
      });
    }
    if ('Fn::If' in object) {
      const [name, whenTrue, whenFalse] = object['Fn::If'] as [string, unknown, unknown];
      return evaluate(condition(name) ? whenTrue : whenFalse);
    }
    if ('Fn::Equals' in object) {
      const [left, right] = (object['Fn::Equals'] as unknown[]).map(evaluate);
      return left === right;
    }
    if ('Fn::Not' in object) return !evaluate((object['Fn::Not'] as unknown[])[0]);
    if ('Fn::GetAtt' in object) return `arn:${(object['Fn::GetAtt'] as string[]).join('.')}`;
    return Object.fromEntries(
      Object.entries(object)
        .map(([key, value]) => [key, evaluate(value)])
        .filter(([, value]) => value !== NO_VALUE),
    );
  }
  return {
    condition,
    resource: (logicalId: string) => evaluate(resources[logicalId].Properties) as Json,
    resources: Object.entries(resources)
      .filter(([, resource]) => !resource.Condition || condition(resource.Condition))
      .map(([id, resource]) => ({ id, type: resource.Type, properties: evaluate(resource.Properties) as Json })),
  };
}
const NO_VALUE = Symbol('AWS::NoValue');

function tableResources(template: Json) {
  return Object.entries(template.Resources as Record<string, Resource>).filter(
    ([, resource]) => resource.Type === 'AWS::Glue::Table',
  );
}

describe('catalog stack, Athena DDL and shipped SQL (docs/cmdb.md)', () => {
  describe('generated files', () => {
    it('glue/generated/catalog-stack.json is what `npm run generate` writes now, small enough to deploy inline', () => {
      const text = readFileSync(GENERATED_STACK, 'utf8');
      expect(text, 'run npm run generate').to.equal(catalogStackJson());
      expect(Buffer.byteLength(text)).to.be.below(INLINE_TEMPLATE_LIMIT);
    });

    it('glue/generated/ddl/ holds exactly the DDL files the schema gives now', () => {
      const expected = generatedDdlFiles();
      expect(readdirSync(GENERATED_DDL).sort(), 'run npm run generate').to.deep.equal(Object.keys(expected).sort());
      for (const [name, content] of Object.entries(expected)) {
        expect(readFileSync(join(GENERATED_DDL, name), 'utf8'), `${name}: run npm run generate`).to.equal(content);
      }
    });

    it('glue/views/displayallhostnames.sql is the original CloneSquad view verbatim', () => {
      expect(readFileSync(join(PROJECT_ROOT, 'glue', 'views', 'displayallhostnames.sql'), 'utf8')).to.equal(
        ORIGINAL_VIEW,
      );
    });
  });

  describe('the CloudFormation template', () => {
    const template = catalogStackTemplate() as Json;

    it('passes cfn-lint', async function () {
      this.timeout(300_000);
      ensurePythonEnv();
      const lint = await promisify(execFile)(venvBin('cfn-lint'), ['--', GENERATED_STACK]).then(
        () => ({ code: 0, output: '' }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          output: error.stdout + error.stderr,
        }),
      );
      expect(lint.code, `cfn-lint:\n${lint.output}`).to.equal(0);
    });

    it('has one Glue table per metadata table, with exactly its schema columns and the partition keys', () => {
      const tables = tableResources(template);
      expect(tables).to.have.length(METADATA_TABLES.length);
      for (const table of METADATA_TABLES) {
        const found = tables.find(
          ([, resource]) => (resource.Properties.TableInput as Json).Name === TABLES[table].name,
        );
        expect(found, TABLES[table].name).to.not.equal(undefined);
        const input = found![1].Properties.TableInput as Json;
        const storage = input.StorageDescriptor as Json;
        expect(input.TableType).to.equal('EXTERNAL_TABLE');
        expect(storage.Columns).to.deep.equal(glueColumns(TABLES[table]));
        expect(input.PartitionKeys).to.deep.equal(gluePartitionKeys());
        expect((storage.SerdeInfo as Json).SerializationLibrary).to.equal(JSON_SERDE);
        expect(storage.InputFormat).to.equal('org.apache.hadoop.mapred.TextInputFormat');
      }
    });

    for (const [prefix, root] of [
      ['org/clonesquad', { bucket: 'cmdb-bucket', prefix: 'org/clonesquad' }],
      ['', { bucket: 'cmdb-bucket', prefix: '' }],
    ] as const) {
      it(`sets each LOCATION to P/metadata/{table}/ (Prefix "${prefix}")`, () => {
        const resolved = resolveTemplate(template, { BucketName: 'cmdb-bucket', Prefix: prefix });
        for (const [id] of tableResources(template)) {
          const input = resolved.resource(id).TableInput as Json;
          const table = METADATA_TABLES.find((name) => TABLES[name].name === input.Name) as MetadataTable;
          expect((input.StorageDescriptor as Json).Location).to.equal(tableLocation(root, table));
          expect(tableLocation(root, table)).to.equal(`s3://cmdb-bucket/${metadataTableFolder(root, table)}/`);
        }
      });

      it(`lets the crawler read only the metadata folders (Prefix "${prefix}")`, () => {
        const resolved = resolveTemplate(template, { BucketName: 'cmdb-bucket', Prefix: prefix });
        const policy = (resolved.resource('CrawlerRole').Policies as Json[])[0].PolicyDocument as Json;
        const statements = policy.Statement as Json[];
        const byAction = (action: string) => statements.find((statement) => statement.Action === action)!;
        const folders = METADATA_TABLES.map((table) => metadataTableFolder(root, table));
        expect(byAction('s3:GetObject').Resource).to.deep.equal(
          folders.map((folder) => `arn:aws:s3:::cmdb-bucket/${folder}/*`),
        );
        expect(byAction('s3:ListBucket').Condition).to.deep.equal({
          StringLike: { 's3:prefix': folders.flatMap((folder) => [folder, `${folder}/*`]) },
        });
        expect(statements.some((statement) => statement.Action === 'kms:Decrypt')).to.equal(false);
      });
    }

    it('uses the existing `default` database, and creates any other', () => {
      const withDefault = resolveTemplate(template, { BucketName: 'b-1' });
      expect(withDefault.resources.some((resource) => resource.type === 'AWS::Glue::Database')).to.equal(false);
      expect(withDefault.resource('TableInstances').DatabaseName).to.equal(DEFAULT_DATABASE);
      const withOther = resolveTemplate(template, { BucketName: 'b-1', DatabaseName: 'cmdb' });
      const database = withOther.resources.find((resource) => resource.type === 'AWS::Glue::Database');
      expect((database?.properties.DatabaseInput as Json).Name).to.equal('cmdb');
      expect(withOther.resource('TableInstances').DatabaseName).to.equal('cmdb');
    });

    it('has a crawler over the six tables that only adds partitions, scheduled daily unless disabled', () => {
      const resolved = resolveTemplate(template, { BucketName: 'b-1' });
      const crawler = resolved.resource('Crawler');
      expect(crawler.Targets).to.deep.equal({
        CatalogTargets: [{ DatabaseName: 'default', Tables: METADATA_TABLES.map((table) => TABLES[table].name) }],
      });
      expect(crawler.SchemaChangePolicy).to.deep.equal({ UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' });
      expect(crawler.RecrawlPolicy).to.deep.equal({ RecrawlBehavior: 'CRAWL_EVERYTHING' });
      expect(JSON.parse(crawler.Configuration as string)).to.deep.equal({
        Version: 1,
        CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } },
        Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas' },
      });
      expect(crawler.Schedule)
        .to.have.property('ScheduleExpression')
        .that.matches(/^cron\(/);
      expect(
        resolveTemplate(template, { BucketName: 'b-1', CrawlerSchedule: '' }).resource('Crawler'),
      ).to.not.have.property('Schedule');
      const key = 'arn:aws:kms:eu-west-1:111122223333:key/k';
      const policy = (
        resolveTemplate(template, { BucketName: 'b-1', KmsKeyArn: key }).resource('CrawlerRole').Policies as Json[]
      )[0];
      expect((policy.PolicyDocument as Json).Statement).to.deep.include({
        Sid: 'DecryptMetadata',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: key,
      });
    });

    it('outputs the crawler and database names', () => {
      expect(Object.keys(template.Outputs as Json)).to.include.members(['CrawlerName', 'DatabaseName']);
    });
  });

  describe('the Athena DDL', () => {
    it('creates clonesquad_maintenance_windows with the JSON SerDe, partitions and LOCATION', () => {
      const ddl = generatedDdlFiles()['clonesquad_maintenance_windows.sql'];
      expect(ddl).to.include('CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`clonesquad_maintenance_windows` (');
      expect(ddl).to.include(`ROW FORMAT SERDE '${JSON_SERDE}'`);
      expect(ddl).to.include('PARTITIONED BY (\n  `accountid` string,\n  `region` string,\n  `groupname` string\n)');
      expect(ddl).to.include("LOCATION 's3://YOUR-BUCKET/YOUR-PREFIX/metadata/maintenance-windows/'");
      expect(ddl).to.include('MSCK REPAIR TABLE `default`.`clonesquad_maintenance_windows`;');
    });

    it('quotes nested field names, as Athena requires of a name that begins with an underscore', () => {
      const ddl = generatedDdlFiles()['clonesquad_maintenance_windows.sql'];
      expect(ddl).to.include('`nextmaintenancewindowdetails` struct<`starttime`:timestamp,`endtime`:timestamp,');
      expect(ddl).to.include(
        '`_activeperiod`:boolean,`_starttime`:timestamp,`_endtime`:timestamp,`_futurenextexecutiontime`:timestamp>',
      );
      expect(tableDdl('instances', { bucket: 'cmdb', prefix: '' })).to.include(
        '`tags` array<struct<`key`:string,`value`:string>>',
      );
    });

    it('names a real path and database when asked', () => {
      const ddl = tableDdl('instances', { bucket: 'cmdb', prefix: '' }, 'inventory');
      expect(ddl).to.include('`inventory`.`clonesquad_instances`');
      expect(ddl).to.include("LOCATION 's3://cmdb/metadata/instances/'");
    });
  });

  describe('createCatalog on the emulator', () => {
    const glue = new GlueClient(clientSettings());

    it('creates the database, the six explicit tables and the crawler, and can run again', async () => {
      const databaseName = uniqueName('cmdb').replace('-', '_');
      const root = { bucket: 'cmdb-bucket', prefix: 'org' };
      const crawlerName = uniqueName('crawler');
      await createCatalog(glue, root, { databaseName, crawlerName });
      const catalog = await createCatalog(glue, root, { databaseName, crawlerName });
      expect(catalog.tables).to.deep.equal(METADATA_TABLES.map((table) => TABLES[table].name));
      const { TableList } = await glue.send(new GetTablesCommand({ DatabaseName: databaseName }));
      expect(TableList).to.have.length(METADATA_TABLES.length);
      for (const table of METADATA_TABLES) {
        const found = TableList!.find((candidate) => candidate.Name === TABLES[table].name)!;
        expect(found.StorageDescriptor?.Columns).to.deep.equal(glueColumns(TABLES[table]));
        expect(found.PartitionKeys).to.deep.equal(gluePartitionKeys());
        expect(found.StorageDescriptor?.Location).to.equal(tableLocation(root, table));
        expect(found.StorageDescriptor?.SerdeInfo?.SerializationLibrary).to.equal(JSON_SERDE);
      }
      const { Crawler } = await glue.send(new GetCrawlerCommand({ Name: crawlerName }));
      expect(Crawler?.Targets?.CatalogTargets).to.deep.equal([{ DatabaseName: databaseName, Tables: catalog.tables }]);
      expect(Crawler?.SchemaChangePolicy).to.deep.equal({ UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' });
    });

    it('runs the crawler: a second start while it runs is CrawlerRunningException', async () => {
      const crawlerName = uniqueName('crawler');
      await createCatalog(glue, { bucket: 'cmdb-bucket', prefix: '' }, { databaseName: 'default', crawlerName });
      await glue.send(new StartCrawlerCommand({ Name: crawlerName }));
      expect((await glue.send(new GetCrawlerCommand({ Name: crawlerName }))).Crawler?.State).to.equal('RUNNING');
      const second = await glue.send(new StartCrawlerCommand({ Name: crawlerName })).then(
        () => 'started',
        (error: Error) => error.name,
      );
      expect(second).to.equal('CrawlerRunningException');
      // moto finishes a crawl once its crawls are listed (it adds no partitions).
      const { Crawls } = await glue.send(new ListCrawlsCommand({ CrawlerName: crawlerName }));
      expect(Crawls?.map((crawl) => crawl.State)).to.deep.equal(['COMPLETED']);
      expect((await glue.send(new GetCrawlerCommand({ Name: crawlerName }))).Crawler?.State).to.equal('READY');
    });
  });
});
