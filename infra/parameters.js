'use strict';
/* global require, module, __filename */
/**
 * Serverless variable source: `${file(./infra/parameters.js):deployment}` is the deployment
 * configuration computed from the `--param` values, the region and the stage (see
 * infra/serverless-config.ts). The logic is TypeScript, shared with the functions, loaded through tsx.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Serverless loads this file with require().
const { require: requireTs } = require('tsx/cjs/api');

const { serverlessConfig, PARAMETER_NAMES } = requireTs('./serverless-config.ts', __filename);

/** `--param` values as osls received them: `["name=value", ...]`. */
function givenNames(options) {
  return [].concat(options.param ?? []).map((item) => String(item).split('=')[0]);
}

module.exports.deployment = async ({ options, resolveVariable }) => {
  const parameters = {};
  for (const name of PARAMETER_NAMES) parameters[name] = await resolveVariable(`param:${name}, null`);
  const stage = await resolveVariable('sls:stage');
  try {
    return await serverlessConfig({
      parameters,
      givenNames: givenNames(options),
      stage,
      // osls passes null for an option not given.
      region: options.region ?? undefined,
      profile: options['aws-profile'] ?? undefined,
    });
  } catch (error) {
    // Serverless prints a rejection's stack; for an input error the message alone is the report.
    if (error && error.name === 'UserInputError') error.stack = `${error.name}: ${error.message}`;
    throw error;
  }
};
