/**
 * The columns of the original CloneSquad (v0.27.1) Athena tables, as data: every column and every
 * nested field or element, with its Hive type, read from verbatim copies of the original DDL files
 * (test/fixtures/original-ddl/). The result is kept as test/fixtures/original-cmdb-columns.json,
 * the reference that compatibility tests compare the catalog and the records against.
 *
 * Regenerate after changing a DDL copy: `npm run generate:original-columns`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { PROJECT_ROOT } from '#local/python-env';
import { formatHiveType, nodePath, parseCreateTables, tableNodes, type HiveNodeRole } from '#test/support/hive-ddl';

export const ORIGINAL_REPOSITORY = 'jcjorel/clonesquad-ec2-pet-autoscaler';
/** The v0.27.1 release commit of the original repository. */
export const ORIGINAL_COMMIT = '6200329df2f09e7c4095352bb7c0cbf884c2f6b5';
const ORIGINAL_DDL_FOLDER = 'docs/metadata';
const DDL_COPIES = join(PROJECT_ROOT, 'test/fixtures/original-ddl');
export const COLUMNS_FIXTURE = join(PROJECT_ROOT, 'test/fixtures/original-cmdb-columns.json');

export interface OriginalColumn {
  /** Table name as the DDL writes it (`clonesquad_maintenance-windows` included). */
  table: string;
  /** `LaunchTime`, `BlockDeviceMappings[].Ebs.AttachTime`, `Subfleets[]`. */
  path: string;
  /** The last segment of the path: a column or field name, or `[]` for an array's element. */
  name: string;
  /** Canonical Hive type text of this node (see formatHiveType). */
  hiveType: string;
  role: HiveNodeRole;
  /** Path of the DDL file in the original repository. */
  file: string;
  commit: string;
}

export interface OriginalDdlFile {
  file: string;
  /** Git blob id of the file at the commit: the copy is verbatim when its blob id is the same. */
  blob: string;
  tables: string[];
}

export interface OriginalColumnsFixture {
  repository: string;
  commit: string;
  files: OriginalDdlFile[];
  columns: OriginalColumn[];
}

/** Git's blob id of a file's bytes. */
function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** The fixture, computed from the DDL copies. */
export function originalColumnsFromDdl(folder = DDL_COPIES): OriginalColumnsFixture {
  const files: OriginalDdlFile[] = [];
  const columns: OriginalColumn[] = [];
  for (const name of readdirSync(folder)
    .filter((entry) => entry.endsWith('.ddl'))
    .sort()) {
    const content = readFileSync(join(folder, name));
    const file = `${ORIGINAL_DDL_FOLDER}/${name}`;
    const tables = parseCreateTables(content.toString('utf8'));
    files.push({ file, blob: gitBlobId(content), tables: tables.map((table) => table.name) });
    for (const table of tables) {
      for (const node of tableNodes(table)) {
        columns.push({
          table: table.name,
          path: nodePath(node.segments),
          name: node.segments[node.segments.length - 1],
          hiveType: formatHiveType(node.type),
          role: node.role,
          file,
          commit: ORIGINAL_COMMIT,
        });
      }
    }
  }
  return { repository: ORIGINAL_REPOSITORY, commit: ORIGINAL_COMMIT, files, columns };
}

export function readOriginalColumnsFixture(): OriginalColumnsFixture {
  return JSON.parse(readFileSync(COLUMNS_FIXTURE, 'utf8')) as OriginalColumnsFixture;
}

async function writeFixture(): Promise<void> {
  const text = JSON.stringify(originalColumnsFromDdl(), null, 2);
  const options = (await resolveConfig(COLUMNS_FIXTURE)) ?? {};
  writeFileSync(COLUMNS_FIXTURE, await format(text, { ...options, filepath: COLUMNS_FIXTURE }));
  process.stdout.write(`wrote ${COLUMNS_FIXTURE}\n`);
}

if (require.main === module) {
  writeFixture().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
