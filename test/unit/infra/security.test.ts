/**
 * Least privilege and data protection:
 * - the central bucket policy (infra/central-bucket.ts) and the functions' roles (infra/iam.ts), evaluated
 *   request by request, each request by this suite's evaluator and by an IAM policy simulator, which
 *   must agree: each account of the Organization reaches only its own `accountid=` partitions, with
 *   `bucket-owner-full-control`, over TLS; nobody else gets in; no principal can replace an archive;
 *   every grant a deployment's role holds on the bucket is admitted by the bucket policy;
 * - the central KMS key policy; `npm run policies`, its options and what it prints;
 * - the central bucket stack: generated from the same builders, cfn-lint clean;
 * - a planted NoEcho secret appears in no object, summary or log line of a whole local run;
 * - no known high or critical advisory in the production dependencies.
 *
 * cfn-lint on the service template and the catalog stack: test/package.test.ts and test/catalog.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runSimulation, type EvaluationResult } from '@cloud-copilot/iam-simulate';
import { expect } from 'chai';
import { resolveParameters } from '#infra/deployment-config';
import { roleStatements as functionStatements } from '#infra/functions';
import type { PolicyStatement as RoleStatement } from '#infra/cloudformation';
import {
  bucketPolicy,
  centralBucketStackTemplate,
  checkPolicyValues,
  GENERATED_CENTRAL_STACK,
  kmsKeyPolicy,
  type PolicyValues,
} from '#infra/central-bucket';
import { policiesCommand, policiesRequest } from '#cli/policies';
import { parametersFromCentralOutputs } from '#cli/publish';
import { run as runCli } from '#cli/main';
import { ensurePythonEnv, PROJECT_ROOT, venvBin } from '#local/python-env';
import {
  ARCHIVE_TAG,
  archiveBackupKey,
  BACKUP_TABLES,
  latestBackupKey,
  METADATA_TABLES,
  metadataKey,
  metadataPartitionFolder,
  metadataTableFolder,
  type PartitionIdentity,
} from '#shared/aws/s3-layout';
import type { S3Location } from '#shared/aws/s3-path';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// A small evaluator of S3 resource policies: enough of the IAM rules for these policies
// (wildcards, policy variables and their escapes, the condition operators they use, explicit deny).

type Context = Record<string, string | undefined>;
type Decision = 'allow' | 'deny' | 'implicit deny';

interface Caller {
  arn: string;
  account: string;
  /** Absent for a principal outside any Organization. */
  orgId?: string;
  /** Whether the caller's own IAM policies allow it every action (else they allow nothing). */
  iamAllowsEverything: boolean;
}

/** A statement of a bucket policy (with a Principal) or of a role policy (without), as IAM reads it. */
interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | { AWS: string | string[] };
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Policy {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

interface Request {
  caller: Caller;
  action: string;
  resource: string;
  /** Request keys: `s3:x-amz-acl`, `s3:prefix`, … */
  keys?: Context;
  tls?: boolean;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** A policy string as a regular expression: `${var}` replaced from the context, `*`/`?` wildcards when `like`. */
function patternRegex(pattern: string, context: Context, like: boolean): RegExp | null {
  let source = '';
  for (const [token] of pattern.matchAll(/\$\{[^}]*\}|[*?]|[^$*?]+|\$/g)) {
    if (token.startsWith('${')) {
      const name = token.slice(2, -1);
      const value = ['*', '?', '$'].includes(name) ? name : context[name];
      if (value === undefined) return null;
      source += escapeRegex(value);
    } else if (like && token === '*') source += '.*';
    else if (like && token === '?') source += '.';
    else source += escapeRegex(token);
  }
  return new RegExp(`^${source}$`, 's');
}

function matches(pattern: string, value: string, context: Context, like: boolean): boolean {
  return patternRegex(pattern, context, like)?.test(value) ?? false;
}

function conditionHolds(operator: string, key: string, expected: string[], context: Context): boolean {
  const ifExists = operator.endsWith('IfExists');
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator;
  const actual = context[key];
  if (actual === undefined) return ifExists || base.startsWith('StringNot');
  switch (base) {
    case 'StringEquals':
      return expected.some((value) => matches(value, actual, context, false));
    case 'StringNotEquals':
      return !expected.some((value) => matches(value, actual, context, false));
    case 'StringLike':
      return expected.some((value) => matches(value, actual, context, true));
    case 'Bool':
      return expected.includes(actual);
    default:
      throw new Error(`the test evaluator does not know condition operator ${operator}`);
  }
}

function principalMatches(principal: PolicyStatement['Principal'], caller: Caller): boolean {
  if (principal === undefined || principal === '*') return true;
  const arns = asList(principal.AWS as string | string[]);
  return arns.includes(caller.arn) || arns.includes(`arn:aws:iam::${caller.account}:root`);
}

/** The request context IAM evaluates conditions against: the caller's global keys and the request's own. */
function requestContext(request: Request): Context {
  return {
    'aws:PrincipalAccount': request.caller.account,
    'aws:PrincipalOrgID': request.caller.orgId,
    'aws:PrincipalArn': request.caller.arn,
    'aws:SecureTransport': String(request.tls ?? true),
    'aws:PrincipalIsAWSService': 'false',
    ...request.keys,
  };
}

function suiteDecision(policy: Policy, request: Request): Decision {
  const context = requestContext(request);
  const applies = (statement: PolicyStatement) =>
    (statement.Principal === undefined || principalMatches(statement.Principal, request.caller)) &&
    asList(statement.Action).some((action) => matches(action, request.action, {}, true)) &&
    asList(statement.Resource).some((resource) => matches(resource, request.resource, context, true)) &&
    Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, asList(values), context)),
    );
  const applying = policy.Statement.filter(applies);
  if (applying.some((statement) => statement.Effect === 'Deny')) return 'deny';
  return applying.some((statement) => statement.Effect === 'Allow') ? 'allow' : 'implicit deny';
}

// ---------------------------------------------------------------------------------------------
// A second, independent opinion: a maintained IAM policy simulator, over the very same requests, so
// that a misreading of IAM shared by the policies and the evaluator above cannot pass unnoticed.

const SIMULATOR_DECISIONS: Record<EvaluationResult, Decision> = {
  Allowed: 'allow',
  ExplicitlyDenied: 'deny',
  ImplicitlyDenied: 'implicit deny',
};
const ALLOW_EVERYTHING: Policy = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'AllowEverything', Effect: 'Allow', Action: '*', Resource: '*' }],
};

/**
 * The simulator reads a `*` or `?` in a request's resource, or in its `s3:prefix`, as a wildcard,
 * whereas in a real request it is a plain character of the key (possible in an S3 prefix). For the
 * simulator such a character is renamed, there and where the policy writes it literally (`${*}`),
 * to a private-use character that nothing else holds. Other request values (`s3:if-none-match: *`)
 * are compared as they are.
 */
const LITERAL_STAND_INS: Record<string, string> = { '*': '\uE001', '?': '\uE002' };
const withStandIns = (text: string) => text.replace(/[*?]/g, (character) => LITERAL_STAND_INS[character]);
const policyWithStandIns = (policy: Policy) =>
  JSON.parse(
    JSON.stringify(policy).replace(/\$\{([*?])\}/g, (_whole, character: string) => LITERAL_STAND_INS[character]),
  ) as Policy;

async function simulatorDecision(
  request: Request,
  policies: { resourcePolicy?: Policy; identityPolicy?: Policy; resourceAccount: string },
): Promise<Decision> {
  const context = Object.entries(requestContext(request)).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  const result = await runSimulation(
    {
      request: {
        principal: request.caller.arn,
        action: request.action,
        resource: { resource: withStandIns(request.resource), accountId: policies.resourceAccount },
        contextVariables: Object.fromEntries(
          context.map(([key, value]) => [key, key === 's3:prefix' ? withStandIns(value) : value]),
        ),
      },
      identityPolicies: policies.identityPolicy
        ? [{ name: 'role', policy: policyWithStandIns(policies.identityPolicy) }]
        : [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policies.resourcePolicy && policyWithStandIns(policies.resourcePolicy),
    },
    { simulationMode: 'Strict' },
  );
  if (result.resultType !== 'single') {
    throw new Error(`the IAM simulator did not evaluate one request: ${JSON.stringify(result)}`);
  }
  // A key the simulator drops as foreign to the action would make the two opinions about different requests.
  expect(result.result.ignoredContextKeys, `context keys the simulator ignores for ${request.action}`).to.deep.equal(
    [],
  );
  return SIMULATOR_DECISIONS[result.overallResult];
}

/** Both opinions must agree; the test then compares their common answer with the expected one. */
function agreed(suite: Decision, simulator: Decision, request: Request): Decision {
  expect(simulator, `IAM simulator vs the suite's evaluator on ${request.action} ${request.resource}`).to.equal(suite);
  return suite;
}

const NOTHING_ALLOWED: Policy = { Version: '2012-10-17', Statement: [] };

/**
 * IAM's rule for a request on a resource with a resource policy: an explicit deny in either policy
 * wins; a caller of the resource's own account needs an allow from either; any other caller from both.
 */
function suiteBucketDecision(policy: Policy, request: Request): Decision {
  const own = suiteDecision(request.caller.iamAllowsEverything ? ALLOW_EVERYTHING : NOTHING_ALLOWED, request);
  const bucket = suiteDecision(policy, request);
  if (own === 'deny' || bucket === 'deny') return 'deny';
  const allowed =
    request.caller.account === CENTRAL ? own === 'allow' || bucket === 'allow' : own === 'allow' && bucket === 'allow';
  return allowed ? 'allow' : 'implicit deny';
}

/** The decision on a request to the central bucket, whose policy is `policy`. */
async function decide(policy: Policy | object, request: Request): Promise<Decision> {
  return decideOn(policy as Policy, request);
}

async function decideOn(policy: Policy, request: Request): Promise<Decision> {
  const simulator = await simulatorDecision(request, {
    resourcePolicy: policy,
    identityPolicy: request.caller.iamAllowsEverything ? ALLOW_EVERYTHING : undefined,
    resourceAccount: CENTRAL,
  });
  return agreed(suiteBucketDecision(policy, request), simulator, request);
}

/** A role policy's decision on a request of its own account, where it alone decides. */
async function decideRole(policy: Policy, request: Request): Promise<Decision> {
  const simulator = await simulatorDecision(request, {
    identityPolicy: policy,
    resourceAccount: request.caller.account,
  });
  return agreed(suiteDecision(policy, request), simulator, request);
}

// ---------------------------------------------------------------------------------------------

const ORG = 'o-a1b2c3d4e5';
const CENTRAL = '999988887777';
const ACCOUNT_A = '111122223333';
const ACCOUNT_B = '444455556666';
const READER = `arn:aws:iam::${CENTRAL}:role/athena-analysts`;
const ROOT: S3Location = { bucket: 'org-clonesquad-cmdb', prefix: 'clonesquad' };
const VALUES: PolicyValues = {
  root: ROOT,
  organizationId: ORG,
  account: CENTRAL,
  region: 'eu-west-1',
  readers: [READER],
};

/** A member account's role whose own IAM policies allow everything: what it may do is the bucket policy's answer. */
const roleIn = (account: string): Caller => ({
  arn: `arn:aws:iam::${account}:role/CloneSquad-web-prod-backupTable`,
  account,
  orgId: ORG,
  iamAllowsEverything: true,
});
const memberA = roleIn(ACCOUNT_A);
const outsider: Caller = {
  arn: 'arn:aws:iam::777766665555:role/intruder',
  account: '777766665555',
  iamAllowsEverything: true,
};
/** Allowed nothing by IAM, so that what it reads is what the bucket policy grants it. */
const reader: Caller = { arn: READER, account: CENTRAL, orgId: ORG, iamAllowsEverything: false };
const centralAdmin: Caller = {
  arn: `arn:aws:iam::${CENTRAL}:role/Admin`,
  account: CENTRAL,
  orgId: ORG,
  iamAllowsEverything: true,
};

const objectArn = (root: S3Location, key: string) => `arn:aws:s3:::${root.bucket}/${key}`;
const bucketArn = (root: S3Location) => `arn:aws:s3:::${root.bucket}`;
const identity = (accountId: string): PartitionIdentity => ({ accountId, region: 'eu-west-1', groupName: 'web' });
const WITH_ACL = { 's3:x-amz-acl': 'bucket-owner-full-control' };
/** An archive is only ever created, never replaced: `If-None-Match: *`. */
const CREATE_ONLY = { ...WITH_ACL, 's3:if-none-match': '*' };
const STAMP = '20240601T100000123Z';

/** A PutObject the service makes: the key and the request keys it sends. */
interface Write {
  key: string;
  keys: Context;
}

/** Every write of a deployment of `accountId`, keys from the shared layout. */
function writesBy(root: S3Location, accountId: string): Write[] {
  const id = identity(accountId);
  return [
    ...BACKUP_TABLES.flatMap((table) => [
      { key: archiveBackupKey(root, id, table, STAMP), keys: CREATE_ONLY },
      { key: latestBackupKey(root, id, table), keys: WITH_ACL },
    ]),
    ...METADATA_TABLES.map((table) => ({ key: metadataKey(root, id, table), keys: WITH_ACL })),
  ];
}

describe('least privilege and data protection', () => {
  describe('central bucket policy (infra/central-bucket.ts)', () => {
    for (const root of [ROOT, { bucket: 'org-clonesquad-cmdb', prefix: '' }, { bucket: 'cmdb-x', prefix: 'a*b/c' }]) {
      describe(`for s3://${root.bucket}${root.prefix ? `/${root.prefix}` : ''}`, () => {
        const policy = bucketPolicy({ ...VALUES, root });
        const put = (caller: Caller, { key, keys }: Write, tls = true) =>
          decide(policy, { caller, action: 's3:PutObject', resource: objectArn(root, key), keys, tls });

        it('lets an account write every key of its own deployments, with bucket-owner-full-control', async () => {
          for (const write of writesBy(root, ACCOUNT_A)) {
            const { key } = write;
            expect(await put(memberA, write), key).to.equal('allow');
            expect(
              await decide(policy, {
                caller: memberA,
                action: 's3:PutObjectAcl',
                resource: objectArn(root, key),
                keys: WITH_ACL,
              }),
            ).to.equal('allow');
          }
        });

        it('requires the bucket-owner-full-control ACL on every write that sends an ACL, and on every backup', async () => {
          for (const { key, keys } of writesBy(root, ACCOUNT_A)) {
            expect(await put(memberA, { key, keys: { ...keys, 's3:x-amz-acl': 'private' } }), key).to.equal(
              'implicit deny',
            );
            // A part of a multipart metadata upload carries no ACL header (the ACL is on its creation).
            const { ['s3:x-amz-acl']: _acl, ...withoutAcl } = keys;
            expect(await put(memberA, { key, keys: withoutAcl }), key).to.equal(
              /(^|\/)metadata\//.test(key) ? 'allow' : 'implicit deny',
            );
          }
        });

        it('denies every principal, of any account, an archive write that could replace an object', async () => {
          const archives = BACKUP_TABLES.map((table) => archiveBackupKey(root, identity(ACCOUNT_A), table, STAMP));
          for (const key of archives) {
            expect(await put(memberA, { key, keys: CREATE_ONLY }), key).to.equal('allow');
            expect(await put(memberA, { key, keys: WITH_ACL }), key).to.equal('deny');
            expect(await put(memberA, { key, keys: { ...WITH_ACL, 's3:if-none-match': '"0123abcd"' } }), key).to.equal(
              'deny',
            );
            // The central account's own principals too, whatever their IAM policies allow.
            expect(await put(reader, { key, keys: WITH_ACL }), key).to.equal('deny');
            expect(await put(centralAdmin, { key, keys: WITH_ACL }), key).to.equal('deny');
          }
          // latest- copies are replaced on every backup; metadata objects on every export.
          const replaced = writesBy(root, ACCOUNT_A).filter(({ key }) => !archives.includes(key));
          expect(replaced).to.have.length(BACKUP_TABLES.length + METADATA_TABLES.length);
          for (const write of replaced) {
            expect(write.keys, write.key).to.not.have.property('s3:if-none-match');
            expect(await put(memberA, write), write.key).to.equal('allow');
          }
        });

        it("refuses an account any write, read, list or delete in another account's partitions", async () => {
          for (const write of writesBy(root, ACCOUNT_B)) {
            const { key } = write;
            expect(await put(memberA, write), key).to.equal('implicit deny');
            for (const action of ['s3:GetObject', 's3:DeleteObject']) {
              expect(await decide(policy, { caller: memberA, action, resource: objectArn(root, key) }), key).to.equal(
                'implicit deny',
              );
            }
          }
          const folderOfB = metadataPartitionFolder(root, identity(ACCOUNT_B), 'instances');
          expect(
            await decide(policy, {
              caller: memberA,
              action: 's3:ListBucket',
              resource: bucketArn(root),
              keys: { 's3:prefix': `${folderOfB}/` },
            }),
          ).to.equal('implicit deny');
        });

        it("does not let an account id that merely starts like the caller's through, nor keys outside the layout", async () => {
          const [archive] = writesBy(root, ACCOUNT_A);
          const lookalike = archive.key.replace(`accountid=${ACCOUNT_A}/`, `accountid=${ACCOUNT_A}0/`);
          expect(await put(memberA, { ...archive, key: lookalike })).to.equal('implicit deny');
          const prefix = root.prefix ? `${root.prefix}/` : '';
          for (const key of [
            `${prefix}metadata/other-table/accountid=${ACCOUNT_A}/region=eu-west-1/groupname=web/x.json.gz`,
            `${prefix}accountid=${ACCOUNT_A}/x`,
            `elsewhere/backups/accountid=${ACCOUNT_A}/region=eu-west-1/groupname=web/x.yaml`,
          ]) {
            expect(await put(memberA, { key, keys: WITH_ACL }), key).to.equal('implicit deny');
          }
        });

        it('lets an account list its own partition folders, not the whole table folder', async () => {
          const list = (prefix: string) =>
            decide(policy, {
              caller: memberA,
              action: 's3:ListBucket',
              resource: bucketArn(root),
              keys: { 's3:prefix': prefix },
            });
          for (const table of METADATA_TABLES) {
            expect(await list(`${metadataPartitionFolder(root, identity(ACCOUNT_A), table)}/`), table).to.equal(
              'allow',
            );
            expect(await list(`${metadataTableFolder(root, table)}/`), table).to.equal('implicit deny');
          }
        });

        it('lets an account replace its own metadata objects but never delete a backup', async () => {
          const id = identity(ACCOUNT_A);
          for (const table of METADATA_TABLES) {
            const stale = `${metadataPartitionFolder(root, id, table)}/old-uncompressed.json`;
            expect(
              await decide(policy, { caller: memberA, action: 's3:DeleteObject', resource: objectArn(root, stale) }),
            ).to.equal('allow');
          }
          for (const table of BACKUP_TABLES) {
            for (const key of [archiveBackupKey(root, id, table, STAMP), latestBackupKey(root, id, table)]) {
              expect(
                await decide(policy, { caller: memberA, action: 's3:DeleteObject', resource: objectArn(root, key) }),
              ).to.equal('implicit deny');
              expect(
                await decide(policy, { caller: memberA, action: 's3:GetObject', resource: objectArn(root, key) }),
              ).to.equal('allow');
            }
          }
        });

        it('denies principals outside the Organization, even on their own account partition', async () => {
          for (const write of writesBy(root, outsider.account)) {
            expect(await put(outsider, write), write.key).to.equal('deny');
          }
          expect(
            await decide(policy, { caller: outsider, action: 's3:ListBucket', resource: bucketArn(root) }),
          ).to.equal('deny');
        });

        it('denies every request without TLS', async () => {
          for (const write of writesBy(root, ACCOUNT_A)) {
            expect(await put(memberA, write, false), write.key).to.equal('deny');
          }
          expect(
            await decide(policy, {
              caller: reader,
              action: 's3:GetObject',
              resource: objectArn(root, metadataKey(root, identity(ACCOUNT_A), 'instances')),
              tls: false,
            }),
          ).to.equal('deny');
        });

        it('lets the central readers read every metadata table, and nothing of the backups', async () => {
          for (const accountId of [ACCOUNT_A, ACCOUNT_B]) {
            for (const table of METADATA_TABLES) {
              const key = metadataKey(root, identity(accountId), table);
              expect(
                await decide(policy, { caller: reader, action: 's3:GetObject', resource: objectArn(root, key) }),
              ).to.equal('allow');
            }
            const backup = latestBackupKey(root, identity(accountId), 'configuration');
            expect(
              await decide(policy, { caller: reader, action: 's3:GetObject', resource: objectArn(root, backup) }),
            ).to.equal('implicit deny');
          }
        });

        for (const groupName of ['web', '']) {
          const mode = groupName ? 'a single-group' : 'an all-groups';
          it(`admits every S3 grant the roles of ${mode} deployment hold (infra/iam.ts)`, async () => {
            const parameters = resolveParameters({
              groupName,
              metadataAndBackupS3Path: `s3://${root.bucket}${root.prefix ? `/${root.prefix}` : ''}`,
            });
            const grants = Object.values(functionStatements(parameters))
              .flat()
              .filter((statement) => asList(statement.Action).some((action) => action.startsWith('s3:')));
            expect(grants).to.have.length.above(0);
            for (const statement of grants) {
              for (const action of asList(statement.Action)) {
                for (const resource of asList(statement.Resource).map((value) => sampleOf(value, ACCOUNT_A))) {
                  const { StringEquals = {}, StringEqualsIfExists = {} } = statement.Condition ?? {};
                  const { ['s3:prefix']: prefixes = [], ...required } = { ...StringEquals, ...StringEqualsIfExists };
                  // The request sends what the role requires of it.
                  const sent = Object.fromEntries(
                    Object.entries(required).map(([key, value]) => [key, cfnText(value, ACCOUNT_A)]),
                  );
                  const requests =
                    action === 's3:ListBucket'
                      ? asList(prefixes).map((prefix) => ({ 's3:prefix': sampleOf(prefix, ACCOUNT_A) }))
                      : [sent];
                  for (const keys of requests) {
                    expect(
                      await decide(policy, { caller: memberA, action, resource, keys }),
                      `${action} ${resource}`,
                    ).to.equal('allow');
                  }
                }
              }
            }
          });
        }
      });
    }

    it('is valid JSON policy structure: unique Sids, only Allow/Deny, a Principal and a Resource everywhere', () => {
      const policy = bucketPolicy(VALUES);
      expect(policy.Version).to.equal('2012-10-17');
      const sids = policy.Statement.map((statement) => statement.Sid);
      expect(new Set(sids).size).to.equal(sids.length);
      for (const statement of policy.Statement) {
        expect(statement.Sid).to.match(/^[A-Za-z0-9]+$/);
        expect(statement.Effect).to.be.oneOf(['Allow', 'Deny']);
        expect(statement.Principal).to.not.equal(undefined);
        expect(asList(statement.Resource)).to.have.length.above(0);
        // Every grant to "*" is limited to the Organization.
        if (statement.Effect === 'Allow' && statement.Principal === '*') {
          expect(statement.Condition?.StringEquals?.['aws:PrincipalOrgID'], statement.Sid).to.equal(ORG);
        }
      }
      expect(JSON.stringify(policy).length).to.be.below(20 * 1024); // the bucket policy size limit
    });

    it('leaves the reader statements out when no reader is given', () => {
      const sids = bucketPolicy({ ...VALUES, readers: [] }).Statement.map((statement) => statement.Sid);
      expect(sids.filter((sid) => sid.startsWith('CentralReaders'))).to.deep.equal([]);
    });
  });

  describe('function roles (infra/iam.ts), for a deployment of account A', () => {
    const roles = functionStatements(
      resolveParameters({ groupName: 'web', metadataAndBackupS3Path: `s3://${ROOT.bucket}/${ROOT.prefix}` }),
    );

    it('lets backupTable create an archive, never replace one', async () => {
      const role = rolePolicy(roles.backupTable, ACCOUNT_A);
      for (const table of BACKUP_TABLES) {
        const resource = objectArn(ROOT, archiveBackupKey(ROOT, identity(ACCOUNT_A), table, STAMP));
        const put = (keys: Context) => decideRole(role, { caller: memberA, action: 's3:PutObject', resource, keys });
        expect(await put(CREATE_ONLY), table).to.equal('allow');
        expect(await put(WITH_ACL), table).to.equal('implicit deny');
        expect(await put({ ...WITH_ACL, 's3:if-none-match': '"0123abcd"' }), table).to.equal('implicit deny');
        expect(await put({ 's3:if-none-match': '*' }), table).to.equal('implicit deny');
      }
    });

    it('lets backupTable tag the archives it writes (the retention rule selects them by tag), never latest-', async () => {
      const role = rolePolicy(roles.backupTable, ACCOUNT_A);
      const tag = (key: string) =>
        decideRole(role, { caller: memberA, action: 's3:PutObjectTagging', resource: objectArn(ROOT, key), keys: {} });
      for (const table of BACKUP_TABLES) {
        expect(await tag(archiveBackupKey(ROOT, identity(ACCOUNT_A), table, STAMP)), table).to.equal('allow');
        expect(await tag(latestBackupKey(ROOT, identity(ACCOUNT_A), table)), table).to.equal('implicit deny');
      }
      expect(await tag(metadataKey(ROOT, identity(ACCOUNT_A), 'instances'))).to.equal('implicit deny');
    });

    it('lets exportDiscovery describe its own account in the Organization, and no other account', async () => {
      const role = rolePolicy(roles.exportDiscovery, ACCOUNT_A);
      const describeAccount = (account: string) =>
        decideRole(role, {
          caller: memberA,
          action: 'organizations:DescribeAccount',
          resource: `arn:aws:organizations::${CENTRAL}:account/${ORG}/${account}`,
        });
      expect(await describeAccount(ACCOUNT_A)).to.equal('allow');
      expect(await describeAccount(ACCOUNT_B)).to.equal('implicit deny');
    });

    it("lets exportDiscovery read its group's Discovery function configuration, and no other function", async () => {
      const role = rolePolicy(roles.exportDiscovery, ACCOUNT_A);
      const read = (action: string, account: string, name: string) =>
        decideRole(role, {
          caller: memberA,
          action,
          resource: `arn:aws:lambda:eu-west-1:${account}:function:${name}`,
        });
      expect(await read('lambda:GetFunctionConfiguration', ACCOUNT_A, 'CloneSquad-Discovery-web')).to.equal('allow');
      expect(await read('lambda:GetFunctionConfiguration', ACCOUNT_A, 'CloneSquad-Main-web')).to.equal('implicit deny');
      expect(await read('lambda:GetFunctionConfiguration', ACCOUNT_A, 'CloneSquad-Discovery-other')).to.equal(
        'implicit deny',
      );
      expect(await read('lambda:GetFunctionConfiguration', ACCOUNT_B, 'CloneSquad-Discovery-web')).to.equal(
        'implicit deny',
      );
      expect(await read('lambda:InvokeFunction', ACCOUNT_A, 'CloneSquad-Discovery-web')).to.equal('implicit deny');
    });
  });

  describe('central KMS key policy (infra/central-bucket.ts)', () => {
    const policy = kmsKeyPolicy(VALUES);

    it('lets the Organization only GenerateDataKey and Decrypt, through S3 in the bucket region, for this bucket', () => {
      const org = policy.Statement.filter((statement) => statement.Principal === '*');
      expect(org).to.have.length(1);
      expect(org[0]).to.deep.include({ Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'] });
      expect(org[0].Condition).to.deep.equal({
        StringEquals: { 'aws:PrincipalOrgID': ORG, 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
        StringLike: {
          'kms:EncryptionContext:aws:s3:arn': [
            'arn:aws:s3:::org-clonesquad-cmdb',
            'arn:aws:s3:::org-clonesquad-cmdb/clonesquad/*',
          ],
        },
      });
    });

    it('gives key administration to the central account only', () => {
      const others = policy.Statement.filter((statement) => statement.Principal !== '*');
      expect(others.map((statement) => statement.Principal)).to.deep.equal([{ AWS: `arn:aws:iam::${CENTRAL}:root` }]);
    });

    it('uses the partition and DNS suffix of the region', () => {
      const china = JSON.stringify(kmsKeyPolicy({ ...VALUES, region: 'cn-north-1' }));
      expect(china).to.include('s3.cn-north-1.amazonaws.com.cn').and.include('arn:aws-cn:s3:::');
    });
  });

  describe("the central stack's outputs as a deployment's parameters: its key encrypts every write", () => {
    const ENCRYPTION_CONTEXT = 'kms:EncryptionContext:aws:s3:arn';
    const withoutCondition = (policy: Policy, key: string): Policy => ({
      ...policy,
      Statement: policy.Statement.map((statement) => ({
        ...statement,
        ...(statement.Condition
          ? {
              Condition: Object.fromEntries(
                Object.entries(statement.Condition)
                  .map(([operator, keys]) => [
                    operator,
                    Object.fromEntries(Object.entries(keys).filter(([name]) => name !== key)),
                  ])
                  .filter(([, keys]) => Object.keys(keys).length > 0),
              ),
            }
          : {}),
      })),
    });
    const keyArn = `arn:aws:kms:eu-west-1:${CENTRAL}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const keyPolicy = kmsKeyPolicy(VALUES) as Policy;
    const outputs = [
      { OutputKey: 'MetadataAndBackupS3Path', OutputValue: 's3://org-clonesquad-cmdb/clonesquad' },
      { OutputKey: 'KmsKeyArn', OutputValue: keyArn },
      { OutputKey: 'ArtifactBucketNamePattern', OutputValue: 'x' },
    ];
    /** The deployment's parameters as `name=value` texts, read as the deployment reads them. */
    const deploymentOf = (parameters: string[]) =>
      resolveParameters({
        groupName: '',
        ...Object.fromEntries(parameters.map((parameter) => parameter.split(/=(.*)/s).slice(0, 2))),
      });
    const id = identity(ACCOUNT_A);
    /** What S3 asks KMS for on behalf of a role writing (GenerateDataKey) or reading (Decrypt) `key`. */
    const kmsRequest = (role: string, action: string, key: string): Request => ({
      caller: {
        arn: `arn:aws:iam::${ACCOUNT_A}:role/${role}`,
        account: ACCOUNT_A,
        orgId: ORG,
        iamAllowsEverything: false,
      },
      action,
      resource: keyArn,
      keys: {
        'kms:ViaService': 's3.eu-west-1.amazonaws.com',
        [ENCRYPTION_CONTEXT]: objectArn(ROOT, key),
      },
    });
    /** A member's role uses the central key when its own policy and the key policy both allow it. */
    const decideKms = async (role: Policy, request: Request): Promise<Decision> => {
      const own = suiteDecision(role, request);
      const key = suiteDecision(keyPolicy, request);
      const suite =
        own === 'deny' || key === 'deny' ? 'deny' : own === 'allow' && key === 'allow' ? 'allow' : 'implicit deny';
      // The simulator does not know KMS encryption-context keys (a variable after a colon, not a
      // slash): it judges the request without that key, against the key policy without the
      // conditions on it, which the suite's evaluator checks on its own above.
      const { [ENCRYPTION_CONTEXT]: _context, ...keys } = request.keys ?? {};
      const simulator = await simulatorDecision(
        { ...request, keys },
        {
          identityPolicy: role,
          resourcePolicy: withoutCondition(keyPolicy, ENCRYPTION_CONTEXT),
          resourceAccount: CENTRAL,
        },
      );
      return agreed(suite, simulator, request);
    };
    const uses = [
      ['backupTable', 'kms:GenerateDataKey', archiveBackupKey(ROOT, id, 'configuration', STAMP)],
      ['backupTable', 'kms:GenerateDataKey', metadataKey(ROOT, id, 'configuration')],
      ['archiveBackups', 'kms:Decrypt', archiveBackupKey(ROOT, id, 'scheduler', STAMP)],
      ['archiveBackups', 'kms:GenerateDataKey', latestBackupKey(ROOT, id, 'scheduler')],
      ['exportInstances', 'kms:GenerateDataKey', metadataKey(ROOT, id, 'instances')],
    ] as const;

    it('gives publish the path and the key', () => {
      expect(parametersFromCentralOutputs(outputs)).to.deep.equal([
        'metadataAndBackupS3Path=s3://org-clonesquad-cmdb/clonesquad',
        `kmsKeyArn=${keyArn}`,
      ]);
      expect(parametersFromCentralOutputs(outputs.slice(1))).to.equal(undefined);
    });

    it('lets every role that writes or reads objects use the key, as both its policy and the key policy allow', async () => {
      const statements = functionStatements(deploymentOf(parametersFromCentralOutputs(outputs)!));
      for (const [role, action, key] of uses) {
        const policy = rolePolicy(statements[role], ACCOUNT_A);
        expect(await decideKms(policy, kmsRequest(role, action, key)), `${role} ${action} ${key}`).to.equal('allow');
      }
      // The key serves this bucket's path only, whoever asks.
      const elsewhere = kmsRequest('backupTable', 'kms:GenerateDataKey', 'x');
      elsewhere.keys![ENCRYPTION_CONTEXT] = 'arn:aws:s3:::another-bucket/clonesquad/x';
      expect(suiteDecision(keyPolicy, elsewhere)).to.equal('implicit deny');
    });

    it('denies the same writes to a deployment given the path alone (the key is what makes them work)', async () => {
      const statements = functionStatements(
        deploymentOf(['metadataAndBackupS3Path=s3://org-clonesquad-cmdb/clonesquad']),
      );
      for (const [role, action, key] of uses) {
        const policy = rolePolicy(statements[role], ACCOUNT_A);
        expect(await decideKms(policy, kmsRequest(role, action, key)), `${role} ${action}`).to.equal('implicit deny');
      }
    });
  });

  describe('policy generator options', () => {
    const base = {
      s3Path: 's3://org-clonesquad-cmdb/clonesquad',
      account: CENTRAL,
      region: 'eu-west-1',
      out: '/tmp/x',
    };

    it('reads the values and checks them', () => {
      const options = policiesRequest({ ...base, orgId: ORG, readerArn: [READER] });
      expect(options).to.deep.equal({ kind: 'documents', values: VALUES, out: '/tmp/x' });
      expect(policiesRequest({ out: '/tmp/x' })).to.deep.equal({ kind: 'stack' });
    });

    it('refuses bad values with clear messages', () => {
      expect(() => policiesRequest({ ...base, orgId: 'org-1' })).to.throw(
        '--org-id "org-1": it is not an AWS Organizations id. Fix: give the id of the Organization (o- and 10 to 32 ' +
          'lower-case letters or digits), as shown by aws organizations describe-organization',
      );
      expect(() => policiesRequest({ orgId: ORG, out: '/tmp/x' })).to.throw(
        '--s3-path: it is missing. Fix: give --s3-path, --org-id, --account and --region together (or none of them, ' +
          'to regenerate the stack template)',
      );
      expect(() => checkPolicyValues({ ...VALUES, readers: ['arn:aws:iam::123456789012:role/elsewhere'] })).to.throw(
        `--reader-arn "arn:aws:iam::123456789012:role/elsewhere": it is not the ARN of an IAM role or user of the ` +
          `central account ${CENTRAL}. Fix: give a role ARN such as the catalog stack's CrawlerRoleArn output, or ` +
          'leave --reader-arn out',
      );
      expect(() => policiesRequest({ ...base, orgId: ORG, account: '1234', region: 'x' })).to.throw(
        /^--account "1234": it is not a 12-digit AWS account id/,
      );
      // The S3 path is the deployments' MetadataAndBackupS3Path, with its own message.
      expect(() => policiesRequest({ ...base, s3Path: 'https://x', orgId: ORG })).to.throw(
        /^MetadataAndBackupS3Path "https:\/\/x": it is not an s3:\/\/ URL/,
      );
    });
  });

  describe('clonesquad-backup policies', () => {
    const OWNERSHIP_WHY =
      'so that the central account owns every object a member account writes (ACLs are then disabled; ' +
      'writes that send bucket-owner-full-control are still accepted)';
    let out: string;
    before(() => (out = mkdtempSync(join(tmpdir(), 'policies-'))));
    after(() => rmSync(out, { recursive: true, force: true }));

    async function policies(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      return run(process.execPath, [join(PROJECT_ROOT, 'bin', 'clonesquad-backup'), 'policies', ...args], {
        cwd: PROJECT_ROOT,
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    }

    it('answers --help with its usage, exit 0', async function () {
      this.timeout(30_000);
      const usage: string[] = [];
      const inProcess = await runCli(['policies', '--help'], { print: (line) => usage.push(line), stderr: () => {} });

      const { code, stdout, stderr } = await policies(['--help']);

      expect(inProcess).to.equal(0);
      expect(usage[0]).to.match(/^Usage: clonesquad-backup policies \[options\]\n/);
      expect({ code, stdout, stderr }).to.deep.equal({ code: 0, stdout: `${usage.join('\n')}\n`, stderr: '' });
    });

    it('refuses an unknown option or an argument with exit 2, saying what is wrong, then the hint', async function () {
      this.timeout(30_000);
      for (const [args, problem] of [
        [['--bucket', 'x'], "unknown option '--bucket'"],
        [['stack'], "too many arguments for 'policies'. Expected 0 arguments but got 1."],
      ] as const) {
        const { code, stdout, stderr } = await policies([...args]);
        expect({ code, stdout, stderr }).to.deep.equal({
          code: 2,
          stdout: '',
          stderr: `error: ${problem}\n(clonesquad-backup policies --help shows the usage)\n`,
        });
      }
    });

    it('refuses a bad value with exit 2 and its message', async function () {
      this.timeout(30_000);
      const { code, stdout, stderr } = await policies([
        ...['--s3-path', 's3://org-clonesquad-cmdb/clonesquad', '--account', CENTRAL, '--region', 'eu-west-1'],
        ...['--org-id', 'org-1'],
      ]);
      expect({ code, stdout, stderr }).to.deep.equal({
        code: 2,
        stdout: '',
        stderr:
          'error: --org-id "org-1": it is not an AWS Organizations id. Fix: give the id of the Organization (o- and ' +
          '10 to 32 lower-case letters or digits), as shown by aws organizations describe-organization\n',
      });
    });

    it('writes the policies of an existing bucket, and prints the object ownership to set on it', async function () {
      this.timeout(30_000);
      const { code, stdout, stderr } = await policies([
        ...['--s3-path', 's3://org-clonesquad-cmdb/clonesquad', '--account', CENTRAL, '--region', 'eu-west-1'],
        ...['--org-id', ORG, '--reader-arn', READER, '--out', out],
      ]);
      expect({ code, stderr }).to.deep.equal({ code: 0, stderr: '' });
      expect(stdout).to.equal(
        [
          `wrote ${join(out, 'bucket-policy.json')}`,
          `wrote ${join(out, 'kms-key-policy.json')}`,
          `Object ownership: the bucket must have BucketOwnerEnforced, ${OWNERSHIP_WHY}. Set it with:`,
          '  aws s3api put-bucket-ownership-controls --bucket org-clonesquad-cmdb --region eu-west-1 ' +
            "--ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
          '',
        ].join('\n'),
      );
      expect(JSON.parse(readFileSync(join(out, 'bucket-policy.json'), 'utf8'))).to.deep.equal(bucketPolicy(VALUES));
      expect(JSON.parse(readFileSync(join(out, 'kms-key-policy.json'), 'utf8'))).to.deep.equal(kmsKeyPolicy(VALUES));
    });

    it('regenerates the stack, and prints the object ownership an existing bucket needs', async () => {
      const lines: string[] = [];
      const stackFile = join(out, 'central-bucket-stack.json');
      expect(await policiesCommand({ out }, { print: (line) => lines.push(line), stackFile })).to.equal(0);
      expect(lines).to.deep.equal([
        `wrote ${stackFile}`,
        `Object ownership: the stack creates its bucket with BucketOwnerEnforced, ${OWNERSHIP_WHY}. With ` +
          'CreateBucket=false, set it on the existing bucket with:',
        '  aws s3api put-bucket-ownership-controls --bucket BUCKET --region REGION ' +
          "--ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]'",
      ]);
      expect(JSON.parse(readFileSync(stackFile, 'utf8'))).to.deep.equal(centralBucketStackTemplate());
    });
  });

  describe('central bucket stack (infra/generated/central-bucket-stack.json)', () => {
    const template = centralBucketStackTemplate() as unknown as CfnTemplate;

    it('is what `npm run policies` generates now', () => {
      expect(JSON.parse(readFileSync(GENERATED_CENTRAL_STACK, 'utf8')), 'run npm run policies').to.deep.equal(template);
    });

    it('passes cfn-lint', async function () {
      this.timeout(300_000);
      ensurePythonEnv();
      const lint = await run(venvBin('cfn-lint'), ['--', GENERATED_CENTRAL_STACK]).then(
        () => ({ code: 0, output: '' }),
        (error: { code: number; stdout: string; stderr: string }) => ({
          code: error.code,
          output: error.stdout + error.stderr,
        }),
      );
      expect(lint.code, `cfn-lint:\n${lint.output}`).to.equal(0);
    });

    const variants: [string, PolicyValues][] = [
      ['with a prefix and readers', VALUES],
      ['at the bucket root, without readers', { ...VALUES, root: { ...ROOT, prefix: '' }, readers: [] }],
    ];
    for (const [title, values] of variants) {
      it(`deploys exactly the generator's bucket and key policies (${title})`, () => {
        const parameters = {
          BucketName: values.root.bucket,
          Prefix: values.root.prefix,
          OrganizationId: values.organizationId,
          ReaderArns: values.readers ?? [],
          ArtifactRegions: [],
          'AWS::AccountId': values.account,
          'AWS::Region': values.region,
          'AWS::Partition': 'aws',
          'AWS::URLSuffix': 'amazonaws.com',
        };
        const resolved = resolveCfn(template, parameters) as CfnTemplate;
        expect(resolved.Resources.BucketPolicy.Properties.PolicyDocument).to.deep.equal(bucketPolicy(values));
        expect(resolved.Resources.Key.Properties.KeyPolicy).to.deep.equal(kmsKeyPolicy(values));
      });
    }

    it('declares ArchiveRetentionDays: whole days, 0 (the default) keeps archives forever', () => {
      expect(template.Parameters.ArchiveRetentionDays).to.deep.equal({
        Type: 'Number',
        Description:
          'Days after which a backup archive expires (its noncurrent version is then removed by ExpireReplacedVersions); ' +
          '0 keeps archives forever. latest- copies never expire.',
        Default: 0,
        MinValue: 0,
        ConstraintDescription: 'a whole number of days, 0 for no expiry',
      });
    });

    const lifecycleRules = (retentionDays: string, prefix: string) => {
      const parameters = {
        BucketName: ROOT.bucket,
        Prefix: prefix,
        OrganizationId: ORG,
        ReaderArns: [],
        ArtifactRegions: [],
        CreateBucket: 'true',
        ArchiveRetentionDays: retentionDays,
        'AWS::AccountId': CENTRAL,
        'AWS::Region': 'eu-west-1',
        'AWS::Partition': 'aws',
        'AWS::URLSuffix': 'amazonaws.com',
      };
      const resolved = resolveCfn(template, parameters) as CfnTemplate;
      return (resolved.Resources.Bucket.Properties.LifecycleConfiguration as { Rules: { Id: string }[] }).Rules;
    };

    it('has no archive expiry rule when ArchiveRetentionDays is 0', () => {
      expect(lifecycleRules('0', ROOT.prefix).map((rule) => rule.Id)).to.deep.equal([
        'ExpireReplacedVersions',
        'ExpireNewPartitionMarkers',
      ]);
    });

    for (const prefix of [ROOT.prefix, '']) {
      it(`expires the objects tagged as archives under the backups folder after N days (prefix "${prefix}")`, () => {
        const rules = lifecycleRules('90', prefix);
        expect(rules.map((rule) => rule.Id)).to.deep.equal([
          'ExpireReplacedVersions',
          'ExpireNewPartitionMarkers',
          'ExpireArchives',
        ]);
        expect(rules[2]).to.deep.equal({
          Id: 'ExpireArchives',
          Status: 'Enabled',
          Prefix: prefix ? `${prefix}/backups/` : 'backups/',
          TagFilters: [{ Key: ARCHIVE_TAG.key, Value: ARCHIVE_TAG.value }],
          // The parameter's value, as a Ref hands it over (CloudFormation converts it).
          ExpirationInDays: '90',
        });
      });
    }

    it('creates a bucket that blocks public access, disables ACLs and encrypts with the key by default', () => {
      const bucket = template.Resources.Bucket.Properties;
      expect(bucket.OwnershipControls).to.deep.equal({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      expect(Object.values(bucket.PublicAccessBlockConfiguration as object)).to.deep.equal([true, true, true, true]);
      expect(JSON.stringify(bucket.BucketEncryption)).to.include('"SSEAlgorithm":"aws:kms"').and.include('"Key","Arn"');
      expect(template.Resources.Key.Properties.EnableKeyRotation).to.equal(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** An infra/iam.ts value (CloudFormation) as IAM reads it once deployed in `accountId`, in eu-west-1. */
function cfnText(value: unknown, accountId: string): string {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': accountId,
    'AWS::Region': 'eu-west-1',
    'AWS::Partition': 'aws',
  };
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return pseudo[object.Ref as string];
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => cfnText(part, accountId)).join(separator);
  }
  if ('Fn::Sub' in object && typeof object['Fn::Sub'] === 'string') {
    return object['Fn::Sub'].replace(/\$\{(!?)([^}]+)\}/g, (whole, bang: string, name: string) =>
      bang ? `\${${name}}` : (pseudo[name] ?? whole),
    );
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/** A concrete request target for an infra/iam.ts resource: `*` as one name, an escape as its character. */
function sampleOf(value: unknown, accountId: string): string {
  return cfnText(value, accountId)
    .replace(/(?<!\$\{)\*/g, STAMP)
    .replace(/\$\{([*?$])\}/g, '$1');
}

/**
 * A function role's policy as deployed in `accountId`. Statements on the stack's own resources
 * (log groups, the schedule role: `Fn::GetAtt`) are left out: no request here reaches them.
 */
function rolePolicy(statements: RoleStatement[], accountId: string): Policy {
  const render = (value: unknown) =>
    Array.isArray(value) ? value.map((item) => cfnText(item, accountId)) : cfnText(value, accountId);
  return {
    Version: '2012-10-17',
    Statement: statements
      .filter((statement) => !JSON.stringify(statement.Resource).includes('Fn::GetAtt'))
      .map(({ Condition, Principal: _principal, ...statement }) => ({
        ...statement,
        Resource: asList(statement.Resource).map(render).flat(),
        ...(Condition
          ? {
              Condition: Object.fromEntries(
                Object.entries(Condition).map(([operator, keys]) => [
                  operator,
                  Object.fromEntries(Object.entries(keys).map(([key, values]) => [key, render(values)])),
                ]),
              ),
            }
          : {}),
      })),
  };
}

interface CfnTemplate {
  Parameters: Record<string, unknown>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, { Properties: Record<string, unknown> }>;
}

/** Resolves the intrinsic functions the central stack uses, for the given parameter values. */
function resolveCfn(template: CfnTemplate, parameters: Record<string, string | string[]>): unknown {
  const NO_VALUE = Symbol('AWS::NoValue');
  const conditions: Record<string, boolean> = {};
  const evaluate = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(evaluate).filter((item) => item !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const object = node as Record<string, unknown>;
    const [only] = Object.keys(object);
    if (Object.keys(object).length === 1) {
      const argument = object[only];
      switch (only) {
        case 'Ref':
          return argument === 'AWS::NoValue' ? NO_VALUE : parameters[argument as string];
        case 'Fn::If': {
          const [name, yes, no] = argument as [string, unknown, unknown];
          return evaluate(conditions[name] ? yes : no);
        }
        case 'Fn::Sub':
          return (argument as string).replace(/\$\{(!?)([^}]*)\}/g, (_whole, bang: string, name: string) =>
            bang ? `\${${name}}` : String(parameters[name]),
          );
        case 'Fn::Equals': {
          const [left, right] = (argument as unknown[]).map(evaluate);
          return JSON.stringify(left) === JSON.stringify(right);
        }
        case 'Fn::Not':
          return !(evaluate((argument as unknown[])[0]) as boolean);
        case 'Fn::Join': {
          const [separator, list] = argument as [string, unknown];
          return (evaluate(list) as string[]).join(separator);
        }
        case 'Fn::GetAtt':
          return `\${${(argument as string[]).join('.')}}`;
      }
    }
    return Object.fromEntries(
      Object.entries(object)
        .map(([key, value]) => [key, evaluate(value)])
        .filter(([, value]) => value !== NO_VALUE),
    );
  };
  for (const [name, condition] of Object.entries(template.Conditions))
    conditions[name] = evaluate(condition) as boolean;
  return evaluate(template);
}

/** `RegExp.escape` (Node.js 24) for the Node.js 20 this project supports. */
function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
