/**
 * The SDK credential chain inside the Lambda bundles: serverless.yml (`custom.esbuild.alias`) puts
 * this module in place of `@aws-sdk/credential-provider-node`, whose `defaultProvider` every client
 * uses. Lambda hands each function its role's credentials in environment variables, so the default
 * chain's other sources (profiles, SSO, web identity, process, container and instance metadata) and
 * the STS and SSO clients they bring are never used there, yet each bundle had to load them: about
 * 130 KB, a quarter of a small bundle's cold start. Local runs and tests, which run the TypeScript
 * sources, keep the SDK's full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
