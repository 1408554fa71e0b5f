/**
 * Real PyYAML `safe_load` (the reader CloneSquad's import APIs use) as a persistent co-process, so
 * tests can check YAML against it thousands of times a second.
 *
 * Protocol, one JSON line each way per request: the request is the document text as a JSON string;
 * the answer is `{"ok": node}` or `{"error": "Type: message"}`. Both directions are pure ASCII JSON
 * (`\uXXXX` escapes), so astral characters travel as surrogate pairs and lone surrogates survive,
 * whatever the locale's stdio encoding. A node is a tagged pair (`["str", "x"]`, `["map", [[k, v]]]`,
 * …) so that a `yes` read as `True` can never pass for the string `"True"`.
 *
 * @example
 * const pyyaml = await PyYaml.start();
 * expect(await pyyaml.load('a: "yes"')).to.deep.equal(new Map([['a', 'yes']]));
 * await pyyaml.close();
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ensurePythonEnv, venvBin } from '#local/python-env';

const SERVER = String.raw`
import base64, datetime, json, sys, yaml

def node(value):
    if isinstance(value, str): return ["str", value]
    if isinstance(value, bool): return ["bool", value]
    if value is None: return ["null"]
    if isinstance(value, int): return ["int", str(value)]
    if isinstance(value, float): return ["float", repr(value)]
    if isinstance(value, dict): return ["map", [[node(k), node(v)] for k, v in value.items()]]
    if isinstance(value, (list, tuple)): return ["seq", [node(v) for v in value]]
    if isinstance(value, datetime.datetime): return ["datetime", value.isoformat()]
    if isinstance(value, datetime.date): return ["date", value.isoformat()]
    if isinstance(value, bytes): return ["bytes", base64.b64encode(value).decode("ascii")]
    if isinstance(value, set): return ["set", [node(v) for v in value]]
    return ["other", type(value).__name__, repr(value)]

for line in sys.stdin.buffer:
    try:
        reply = {"ok": node(yaml.safe_load(json.loads(line)))}
    except Exception as error:
        reply = {"error": type(error).__name__ + ": " + str(error)}
    sys.stdout.write(json.dumps(reply, ensure_ascii=True) + "\n")
    sys.stdout.flush()
`;

/** A value `safe_load` returned that has no JavaScript counterpart. */
export class PythonValue {
  constructor(
    readonly pythonType: string,
    readonly repr: string,
  ) {}
}

/** What `safe_load` can return: `dict` is a `Map` (any key type, document order kept). */
export type PyValue =
  | string
  | boolean
  | null
  | number
  | bigint
  | Date
  | Uint8Array
  | PyValue[]
  | Set<PyValue>
  | Map<PyValue, PyValue>
  | PythonValue;

type WireNode = [string, ...unknown[]];

/** `safe_load` raised; `message` starts with the Python exception type, as in `ScannerError: …`. */
export class PyYamlError extends Error {
  override name = 'PyYamlError';
}

function decode(wire: WireNode): PyValue {
  const [tag, payload, extra] = wire;
  switch (tag) {
    case 'str':
    case 'bool':
      return payload as string | boolean;
    case 'null':
      return null;
    case 'int': {
      const big = BigInt(payload as string);
      return Number.isSafeInteger(Number(big)) ? Number(big) : big;
    }
    case 'float':
      return (
        ({ nan: NaN, inf: Infinity, '-inf': -Infinity } as Record<string, number>)[payload as string] ?? Number(payload)
      );
    case 'map':
      return new Map((payload as [WireNode, WireNode][]).map(([key, value]) => [decode(key), decode(value)]));
    case 'seq':
      return (payload as WireNode[]).map(decode);
    case 'set':
      return new Set((payload as WireNode[]).map(decode));
    case 'datetime':
    case 'date': {
      const iso = payload as string;
      // PyYAML returns naive datetimes for UTC; read them as UTC, as the `yaml` package does.
      return new Date(/(Z|[+-]\d\d:\d\d)$/.test(iso) || tag === 'date' ? iso : `${iso}Z`);
    }
    case 'bytes':
      return Uint8Array.from(Buffer.from(payload as string, 'base64'));
    default:
      return new PythonValue(String(payload), String(extra));
  }
}

/** JSON with every non-ASCII UTF-16 unit escaped: astral pairs and lone surrogates alike. */
function asciiJson(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

interface Pending {
  resolve(value: PyValue): void;
  reject(error: Error): void;
}

export class PyYaml {
  private readonly pending: Pending[] = [];
  private stderr = '';
  private exited: Error | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => this.answer(line));
    child.on('error', (error) => this.fail(error));
    child.on('exit', (code, signal) =>
      this.fail(new Error(`PyYAML co-process exited (${signal ?? code}): ${this.stderr}`)),
    );
  }

  /** Starts the co-process with the project venv's Python (creating the venv when needed). */
  static async start(): Promise<PyYaml> {
    ensurePythonEnv();
    const child = spawn(venvBin('python'), ['-u', '-c', SERVER], {
      env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    });
    const pyyaml = new PyYaml(child);
    await pyyaml.load('warm: up');
    return pyyaml;
  }

  /** `yaml.safe_load(text)`; rejects with {@link PyYamlError} when PyYAML raises. */
  load(text: string): Promise<PyValue> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${asciiJson(text)}\n`);
    });
  }

  /** Ends the co-process and waits for it to exit. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    await exited;
  }

  private answer(line: string): void {
    const request = this.pending.shift();
    if (!request) return this.fail(new Error(`PyYAML co-process answered unasked: ${line.slice(0, 200)}`));
    const reply = JSON.parse(line) as { ok?: WireNode; error?: string };
    if (reply.error !== undefined) request.reject(new PyYamlError(reply.error));
    else request.resolve(decode(reply.ok!));
  }

  private fail(error: Error): void {
    this.exited ??= error;
    for (const request of this.pending.splice(0)) request.reject(error);
  }
}
