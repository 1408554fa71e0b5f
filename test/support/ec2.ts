/** EC2 helpers for tests on the shared emulator: a client, a call recorder, a quick fleet launcher. */
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { seedImageId } from '#local/seed-instances';
import { clientSettings } from '#shared/aws/clients';
import { GROUP_NAME_TAG, SUBFLEET_NAME_TAG } from '#shared/metadata/instances';

export function emulatorEc2(): EC2Client {
  return new EC2Client(clientSettings());
}

export interface RecordedCall {
  command: string;
  input: Record<string, unknown>;
  /** A copy of the answer, once it came. */
  output?: Record<string, unknown>;
}

/** Records every command `client` sends (once per command, retries excluded), with copies of its input and answer. */
export function recordCalls(client: EC2Client): RecordedCall[] {
  const calls: RecordedCall[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const call: RecordedCall = {
        command: context.commandName ?? '',
        input: structuredClone(args.input as Record<string, unknown>),
      };
      calls.push(call);
      const result = await next(args);
      call.output = structuredClone(result.output) as unknown as Record<string, unknown>;
      return result;
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  return calls;
}

/**
 * Launches `count` instances of `groupName`, one reservation each (as pets are launched), a few
 * requests at a time. The emulator counts DescribeInstances `MaxResults` in reservations, so only
 * separate reservations make a large fleet span several pages there.
 */
export async function launchSeparately(ec2: EC2Client, groupName: string, count: number): Promise<string[]> {
  const imageId = await seedImageId(ec2);
  const ids: string[] = [];
  let launched = 0;
  const worker = async () => {
    while (launched < count) {
      launched += 1;
      ids.push(await launchInstance(ec2, imageId, groupName));
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
  return ids;
}

/** Launches one instance of `groupName` (in `subfleet` when given) in a reservation of its own; answers its id. */
export async function launchInstance(
  ec2: EC2Client,
  imageId: string,
  groupName: string,
  subfleet?: string,
): Promise<string> {
  const tags = [{ Key: GROUP_NAME_TAG, Value: groupName }];
  if (subfleet) tags.push({ Key: SUBFLEET_NAME_TAG, Value: subfleet });
  const { Instances } = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
    }),
  );
  return Instances![0].InstanceId!;
}
