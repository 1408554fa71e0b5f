/**
 * infra/parameters.js as osls calls it: osls passes `aws-profile: null` when the option is not
 * given, which must read as "no profile" (not a profile named "null").
 */
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { PROJECT_ROOT } from '#local/python-env';

const requireJs = createRequire(`${PROJECT_ROOT}/`);
const { deployment } = requireJs('./infra/parameters.js') as {
  deployment: (source: {
    options: Record<string, unknown>;
    resolveVariable: (name: string) => Promise<unknown>;
  }) => Promise<{ region: string }>;
};

describe('infra/parameters.js (the Serverless variable source)', () => {
  it('packages without --aws-profile when osls passes aws-profile: null', async () => {
    const resolved = await deployment({
      options: { region: 'eu-west-1', 'aws-profile': null, param: ['metadataAndBackupS3Path=s3://bucket/prefix'] },
      resolveVariable: async (name) =>
        name === 'sls:stage' ? 'dev' : name.startsWith('param:metadataAndBackupS3Path') ? 's3://bucket/prefix' : null,
    });
    expect(resolved.region).to.equal('eu-west-1');
  });
});
