import { expect } from 'chai';
import {
  DynamoDBClient,
  DynamoDBServiceException,
  ResourceNotFoundException,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { UserInputError } from '#shared/aws/errors';
import { readTable } from '#shared/backup/table-reader';
import { emulatorClients, uniqueName } from '#test/support/aws';
import { createTable, rejection, tableItem, type Item } from '#test/support/backup-fixtures';

const NOW = new Date('2024-06-01T12:00:00Z');
const NOW_SECONDS = NOW.getTime() / 1000;

describe('readTable (docs/cmdb.md)', () => {
  describe('with a mocked DynamoDB', () => {
    let dynamodbMock: AwsClientStub<DynamoDBClient>;
    const dynamodb = new DynamoDBClient({ region: 'eu-west-1' });
    const options = { tableName: 'CloneSquad-web-Configuration', parameterName: 'ConfigurationTable', now: NOW };

    // Mocking the class patches every instance: restore it so the emulator suites get real clients.
    before(() => {
      dynamodbMock = mockClient(DynamoDBClient);
    });
    beforeEach(() => dynamodbMock.reset());
    after(() => dynamodbMock.restore());

    it('reads every page, passing each LastEvaluatedKey on, always strongly consistent', async () => {
      // Prepare: the SDK paginator reuses one input object, so each request is copied (as JSON, as sent) when made
      const pages = [
        { Items: [tableItem('a', '1'), tableItem('b', '2')], LastEvaluatedKey: { Key: { S: 'b' } } },
        { Items: [], LastEvaluatedKey: { Key: { S: 'c' } } },
        { Items: [tableItem('d', '4')] },
      ];
      const requests: ScanCommandInput[] = [];
      dynamodbMock.on(ScanCommand).callsFake((input: ScanCommandInput) => {
        requests.push(JSON.parse(JSON.stringify(input)));
        return pages[requests.length - 1];
      });

      // Act
      const contents = await readTable(dynamodb, options);

      // Assess
      expect(requests).to.deep.equal([
        { TableName: options.tableName, ConsistentRead: true },
        { TableName: options.tableName, ConsistentRead: true, ExclusiveStartKey: { Key: { S: 'b' } } },
        { TableName: options.tableName, ConsistentRead: true, ExclusiveStartKey: { Key: { S: 'c' } } },
      ]);
      expect(contents.pages).to.equal(3);
      expect(contents.rows.map((row) => row.key)).to.deep.equal(['a', 'b', 'd']);
      expect(contents.warnings).to.deep.equal([]);
    });

    it('skips rows whose ExpirationTime has passed and keeps the others with their expiration time', async () => {
      // Prepare
      dynamodbMock.on(ScanCommand).resolves({
        Items: [
          tableItem('expired', 'x', NOW_SECONDS - 1),
          tableItem('expired-long-ago', 'x', 1),
          tableItem('future', 'y', NOW_SECONDS + 3600),
          tableItem('forever', 'z'),
        ],
      });

      // Act
      const contents = await readTable(dynamodb, options);

      // Assess
      expect(contents.rows).to.deep.equal([
        { key: 'future', value: 'y', expirationTime: NOW_SECONDS + 3600 },
        { key: 'forever', value: 'z' },
      ]);
      expect(contents.expiredKeys).to.deep.equal(['expired', 'expired-long-ago']);
    });

    it('skips rows without a string Key or Value, with a warning naming the key and the problem', async () => {
      // Prepare
      dynamodbMock.on(ScanCommand).resolves({
        Items: [
          { Value: { S: 'orphan' } },
          { Key: { N: '42' }, Value: { S: 'numeric key' } },
          { Key: { S: 'no-value' } },
          { Key: { S: 'numeric-value' }, Value: { N: '3' } },
          { Key: { S: 'boolean-value' }, Value: { BOOL: true } },
          tableItem('good', 'kept'),
          tableItem('empty', ''),
        ],
      });

      // Act
      const contents = await readTable(dynamodb, options);

      // Assess
      expect(contents.rows).to.deep.equal([
        { key: 'good', value: 'kept' },
        { key: 'empty', value: '' },
      ]);
      expect(contents.warnings).to.have.length(5);
      const [orphan, numericKey, noValue, numericValue, booleanValue] = contents.warnings;
      expect(orphan).to.match(/without a string "Key".*attributes: Value/);
      expect(numericKey).to.match(/without a string "Key".*attributes: Key, Value/);
      expect(noValue).to.match(/"no-value".*no "Value" attribute/);
      expect(numericValue).to.match(/"numeric-value".*its Value is a number \(N\), not a string/);
      expect(booleanValue).to.match(/"boolean-value".*its Value is a boolean \(BOOL\), not a string/);
    });

    it('names the type of a Value that is not a string in words, with its DynamoDB code', async () => {
      // Prepare
      const values: Item['Value'][] = [
        { N: '3' },
        { B: new Uint8Array([1]) },
        { SS: ['a'] },
        { NS: ['1'] },
        { BS: [new Uint8Array([1])] },
        { M: { a: { S: 'b' } } },
        { L: [{ S: 'a' }] },
        { NULL: true },
        { BOOL: false },
      ];
      dynamodbMock
        .on(ScanCommand)
        .resolves({ Items: values.map((Value, index) => ({ Key: { S: `k${index}` }, Value })) });

      // Act
      const { warnings } = await readTable(dynamodb, options);

      // Assess
      const fix = 'CloneSquad only reads string values. Fix: write the value again as a string (DynamoDB type S)';
      expect(warnings).to.deep.equal([
        `skipped key "k0": its Value is a number (N), not a string; ${fix}`,
        `skipped key "k1": its Value is binary (B), not a string; ${fix}`,
        `skipped key "k2": its Value is a string set (SS), not a string; ${fix}`,
        `skipped key "k3": its Value is a number set (NS), not a string; ${fix}`,
        `skipped key "k4": its Value is a binary set (BS), not a string; ${fix}`,
        `skipped key "k5": its Value is a map (M), not a string; ${fix}`,
        `skipped key "k6": its Value is a list (L), not a string; ${fix}`,
        `skipped key "k7": its Value is a null (NULL), not a string; ${fix}`,
        `skipped key "k8": its Value is a boolean (BOOL), not a string; ${fix}`,
      ]);
    });

    it('says when a row has no Value at all', async () => {
      dynamodbMock.on(ScanCommand).resolves({ Items: [{ Key: { S: 'bare' } }] });

      const { warnings } = await readTable(dynamodb, options);

      expect(warnings).to.deep.equal([
        'skipped key "bare": it has no "Value" attribute; CloneSquad only reads string values. ' +
          'Fix: write the value again as a string (DynamoDB type S)',
      ]);
    });

    for (const [table, parameterName] of [
      ['Configuration', 'ConfigurationTable'],
      ['Scheduler', 'SchedulerTable'],
    ]) {
      it(`explains a missing ${table} table as a UserInputError naming ${parameterName} and the fix`, async () => {
        // Prepare
        const tableName = `CloneSquad-web-${table}`;
        dynamodbMock
          .on(ScanCommand)
          .rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} }));

        // Act
        const error = await rejection(readTable(dynamodb, { tableName, parameterName, now: NOW }));

        // Assess
        expect(error).to.be.instanceOf(UserInputError);
        expect((error as UserInputError).input).to.equal(`${parameterName} "${tableName}"`);
        expect(error.message).to.include('no DynamoDB table of that name exists');
        expect(error.message).to.match(new RegExp(`Fix: .*redeploy with ${parameterName} set to its table name`));
      });
    }

    it('lets other errors through unchanged, even after the first page', async () => {
      // Prepare
      const throttled = new DynamoDBServiceException({
        name: 'ProvisionedThroughputExceededException',
        $fault: 'client',
        $metadata: {},
        message: 'slow down',
      });
      dynamodbMock
        .on(ScanCommand)
        .resolvesOnce({ Items: [tableItem('a', '1')], LastEvaluatedKey: { Key: { S: 'a' } } })
        .rejectsOnce(throttled);

      // Act
      const error = await rejection(readTable(dynamodb, options));

      // Assess
      expect(error).to.equal(throttled);
    });
  });

  describe('against the emulator', () => {
    let dynamodb: DynamoDBClient;

    before(() => {
      ({ dynamodb } = emulatorClients());
    });

    it('reads a table larger than one Scan page (1 MB) completely', async () => {
      // Prepare: 300 rows of 4 KB, about 1.2 MB
      const items: Item[] = Array.from({ length: 300 }, (_, index) =>
        tableItem(`key-${String(index).padStart(3, '0')}`, `${index}:`.padEnd(4096, 'v')),
      );
      const tableName = await createTable(dynamodb, items);

      // Act
      const contents = await readTable(dynamodb, { tableName, parameterName: 'ConfigurationTable' });

      // Assess
      expect(contents.pages).to.be.greaterThan(1);
      expect(contents.rows).to.have.length(300);
      const byKey = new Map(contents.rows.map((row) => [row.key, row.value]));
      for (const item of items) expect(byKey.get(item.Key.S!)).to.equal(item.Value.S);
    });

    it('reads an empty table as no rows in one page', async () => {
      // Prepare
      const tableName = await createTable(dynamodb, []);

      // Act
      const contents = await readTable(dynamodb, { tableName, parameterName: 'SchedulerTable' });

      // Assess
      expect(contents).to.deep.equal({ rows: [], warnings: [], expiredKeys: [], pages: 1 });
    });

    it('leaves out rows whose TTL has passed but that DynamoDB has not deleted yet', async () => {
      // Prepare
      const now = Math.floor(Date.now() / 1000);
      const tableName = await createTable(dynamodb, [
        tableItem('expired', 'x', now - 60),
        tableItem('valid', 'y', now + 3600),
        tableItem('plain', 'z'),
      ]);

      // Act
      const contents = await readTable(dynamodb, { tableName, parameterName: 'ConfigurationTable' });

      // Assess
      expect(contents.rows.map((row) => row.key).sort()).to.deep.equal(['plain', 'valid']);
      expect(contents.expiredKeys).to.deep.equal(['expired']);
    });

    it('refuses a missing table with the parameter to fix', async () => {
      // Prepare
      const tableName = uniqueName('missing');

      // Act
      const error = await rejection(readTable(dynamodb, { tableName, parameterName: 'SchedulerTable' }));

      // Assess
      expect(error).to.be.instanceOf(UserInputError);
      expect(error.message).to.match(new RegExp(`^SchedulerTable "${tableName}": no DynamoDB table .* Fix: `));
    });
  });
});
