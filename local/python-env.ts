/**
 * The project-local Python virtualenv (`.venv`) holding the AWS emulator (moto), PyYAML, cfn-lint
 * and sqlglot (the local query engine's SQL translator). Created on first use, and re-installed when
 * `requirements-dev.txt` changes.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PROJECT_ROOT = resolve(__dirname, '..');
const VENV = join(PROJECT_ROOT, '.venv');
const REQUIREMENTS = join(PROJECT_ROOT, 'requirements-dev.txt');
const STAMP = join(VENV, '.requirements.sha256');

export function venvBin(program: string): string {
  return join(VENV, 'bin', program);
}

function findPython(): string {
  for (const candidate of [process.env.PYTHON, 'python3', 'python'].filter(Boolean) as string[]) {
    try {
      const version = execFileSync(candidate, ['-c', 'import sys; print(sys.version_info >= (3, 9))'], {
        encoding: 'utf8',
      });
      if (version.trim() === 'True') return candidate;
    } catch {
      // Not installed under that name; try the next.
    }
  }
  throw new Error('Python 3.9 or later was not found as python3 or python. Install it, or set PYTHON to its path.');
}

/** Makes sure `.venv` exists with the pinned requirements; quick when it is already up to date. */
export function ensurePythonEnv(): void {
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === wanted && existsSync(venvBin('python'))) return;
  console.error('Setting up the Python tools in .venv (moto, PyYAML, cfn-lint, sqlglot); this happens once…');
  if (!existsSync(venvBin('python'))) execFileSync(findPython(), ['-m', 'venv', VENV], { stdio: 'inherit' });
  execFileSync(
    venvBin('python'),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS],
    {
      stdio: 'inherit',
    },
  );
  writeFileSync(STAMP, wanted);
}

if (require.main === module) ensurePythonEnv();
