/**
 * The Organization-wide rollout: a CloudFormation StackSet of the regional service, deployed from
 * the management account (or a delegated administrator) with service-managed permissions, so that
 * every account of the target OUs — and every account that joins them later — gets the service in
 * every target region. The template it deploys is the one `publish` wrote to the artifact buckets.
 */
import { join } from 'node:path';
import { ref, type Cfn } from '#infra/cloudformation';

export const GENERATED_STACKSET = join(__dirname, 'generated', 'stackset.json');
export const DEFAULT_STACKSET_NAME = 'clonesquad-backup-cmdb';

export function stackSetTemplate(): Record<string, Cfn> {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'CloneSquad backups and CMDB metadata for a whole AWS Organization: a service-managed StackSet of the regional ' +
      'service, deployed automatically to every account of the target OUs, in every target region',
    Parameters: {
      TemplateURL: {
        Type: 'String',
        Description: 'The regional template publish wrote (its output names it): https://…/regional-template.json',
        AllowedPattern: '^https://.+/regional-template\\.json$',
      },
      OrganizationalUnitIds: {
        Type: 'CommaDelimitedList',
        Description: 'The OUs (or the root, r-…) whose accounts run the service',
      },
      Regions: {
        Type: 'CommaDelimitedList',
        Description: 'The regions it runs in; each needs its artifact bucket (the central stack ArtifactRegions)',
      },
      StackSetName: { Type: 'String', Default: DEFAULT_STACKSET_NAME },
    },
    Resources: {
      RegionalServiceStackSet: {
        Type: 'AWS::CloudFormation::StackSet',
        Properties: {
          StackSetName: ref('StackSetName'),
          Description: 'CloneSquad backups and CMDB metadata: every CloneSquad group of each account and region',
          PermissionModel: 'SERVICE_MANAGED',
          // New accounts of the OUs get it; an account leaving them loses it (its backups stay in the bucket).
          AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
          ManagedExecution: { Active: true },
          // The schedules' role is named (the functions hand it to Scheduler by its ARN).
          Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
          TemplateURL: ref('TemplateURL'),
          StackInstancesGroup: [
            { DeploymentTargets: { OrganizationalUnitIds: ref('OrganizationalUnitIds') }, Regions: ref('Regions') },
          ],
          OperationPreferences: {
            RegionConcurrencyType: 'PARALLEL',
            MaxConcurrentPercentage: 25,
            FailureTolerancePercentage: 10,
          },
        },
      },
    },
    Outputs: { StackSetId: { Value: ref('RegionalServiceStackSet') } },
  };
}

/** The template as `generate` commits it. */
export function stackSetJson(): string {
  return `${JSON.stringify(stackSetTemplate(), null, 2)}\n`;
}
