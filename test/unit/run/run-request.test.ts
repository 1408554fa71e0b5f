/**
 * The execution input (docs/operations.md): `{}` runs everything, `{"parts": [...]}` narrows the run; anything
 * else is refused, naming the field and the allowed values. The API model is the same schema.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { UserInputError } from '#shared/aws/errors';
import { isRequested, parseRunRequest, PART_GROUPS, RUN_PARTS, RUN_REQUEST_SCHEMA } from '#shared/run/run-request';

function refusal(input: unknown): string {
  try {
    parseRunRequest(input);
  } catch (error) {
    expect(error).to.be.instanceOf(UserInputError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(input)} was accepted`);
}

const ALLOWED = [...Object.keys(PART_GROUPS), ...RUN_PARTS];

describe('execution input (shared/run-request.ts)', () => {
  it('runs everything for {} (and for no input at all)', () => {
    for (const input of [{}, null, undefined]) {
      expect(parseRunRequest(input).requestedParts).to.deep.equal([
        'backup/configuration',
        'backup/scheduler',
        'metadata/discovery',
        'metadata/configuration',
        'metadata/scheduler',
        'metadata/instances',
        'metadata/volumes',
        'metadata/maintenance-windows',
      ]);
    }
  });

  it('narrows to the parts named, groups expanded, in a fixed order', () => {
    expect(parseRunRequest({ parts: ['backups'] }).requestedParts).to.deep.equal([
      'backup/configuration',
      'backup/scheduler',
    ]);
    expect(parseRunRequest({ parts: ['metadata/scheduler', 'backup/configuration'] }).requestedParts).to.deep.equal([
      'backup/configuration',
      'metadata/scheduler',
    ]);
    expect(parseRunRequest({ parts: ['metadata'] }).requestedParts).to.deep.equal(
      RUN_PARTS.filter((part) => part.startsWith('metadata/')),
    );
  });

  it('runs instances and volumes together, as one DescribeInstances pass produces both', () => {
    expect(parseRunRequest({ parts: ['metadata/volumes'] }).requestedParts).to.deep.equal([
      'metadata/instances',
      'metadata/volumes',
    ]);
    expect(parseRunRequest({ parts: ['metadata/instances'] }).requestedParts).to.deep.equal([
      'metadata/instances',
      'metadata/volumes',
    ]);
  });

  it('refuses unknown fields and values, naming the field and the allowed values', () => {
    expect(refusal({ part: ['backups'] })).to.match(
      /^execution input field "part": no such field\. Fix: the fields are "groupName" \(a CloneSquad group\) and "parts" \(an array of "backups", "metadata", "backup\/configuration", .*"metadata\/maintenance-windows"\)/,
    );
    expect(refusal({ parts: ['backups', 'metadata/instance'] })).to.match(
      /^execution input\.parts\[1\]: "metadata\/instance" is not a part\. Fix: use one of "backups", "metadata", /,
    );
    expect(refusal({ parts: 'backups' })).to.match(/^execution input\.parts: it is "backups", not an array/);
    expect(refusal({ parts: [] })).to.match(/^execution input\.parts: it is empty, so nothing would run/);
    expect(refusal({ parts: ['backups', 'backups'] })).to.match(/parts\[1\]: "backups" is given twice/);
    expect(refusal({ parts: [3] })).to.match(/parts\[0\]: 3 is not a part/);
    expect(refusal([])).to.match(/^execution input: it is an array, not an object/);
    expect(refusal('backups')).to.match(/^execution input: it is the string "backups", not an object/);
  });

  it('refuses exactly what the API model refuses: same fields, same values', () => {
    expect(RUN_REQUEST_SCHEMA).to.deep.include({ type: 'object', additionalProperties: false });
    expect(Object.keys(RUN_REQUEST_SCHEMA.properties)).to.deep.equal(['groupName', 'parts']);
    const parts = RUN_REQUEST_SCHEMA.properties.parts;
    expect(parts).to.deep.include({ type: 'array', minItems: 1, uniqueItems: true });
    expect([...parts.items.enum]).to.have.members(ALLOWED);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...ALLOWED, 'backup', 'metadata/x', ''), { minLength: 1, maxLength: 6 }),
        (values) => {
          const valid = values.every((value) => (parts.items.enum as readonly string[]).includes(value));
          let accepted = true;
          try {
            parseRunRequest({ parts: values });
          } catch {
            accepted = false;
          }
          return accepted === valid;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('lets a Task event without requestedParts (a direct invocation) ask for everything', () => {
    expect(isRequested({ executionStartTime: 'x' }, 'metadata/discovery')).to.equal(true);
    expect(isRequested({ requestedParts: ['backup/scheduler'] }, 'metadata/discovery')).to.equal(false);
    expect(isRequested({ requestedParts: ['backup/scheduler'] }, 'backup/scheduler')).to.equal(true);
    expect(() => isRequested({ requestedParts: 'all' }, 'backup/scheduler')).to.throw(
      /event\.requestedParts must be an array/,
    );
  });
});
