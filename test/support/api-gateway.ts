/**
 * API Gateway's mapping-template environment, enough to render the backup API's templates with
 * velocityjs: `$input` over a JSON body, `$util.escapeJavaScript` as Java's (it escapes `'` as `\'`
 * and returns a Java string, whose `replaceAll` takes a regular expression), and `$context`.
 */
import { render } from 'velocityjs';
import { triggerResources } from '#infra/triggers';
import { resolveParameters, resourceNames } from '#infra/deployment-config';

export const PSEUDO = { 'AWS::Partition': 'aws', 'AWS::Region': 'eu-west-1', 'AWS::AccountId': '111122223333' };

/**
 * A CloudFormation string (text, `Ref`, `Fn::Join`, `Fn::Sub` of pseudo parameters) as deployed with
 * the `pseudo` values.
 */
export function deployedText(value: unknown, pseudo: Record<string, string> = PSEUDO): string {
  if (typeof value === 'string') return value;
  const object = value as { Ref?: string; 'Fn::Join'?: [string, unknown[]]; 'Fn::Sub'?: unknown };
  if (object.Ref) return pseudo[object.Ref] ?? `<${object.Ref}>`;
  if (object['Fn::Join']) {
    return object['Fn::Join'][1].map((part) => deployedText(part, pseudo)).join(object['Fn::Join'][0]);
  }
  if (typeof object['Fn::Sub'] === 'string') {
    return object['Fn::Sub'].replace(/\$\{(!?)([^}]*)\}/g, (whole, bang: string, name: string) =>
      bang ? `\${${name}}` : (pseudo[name] ?? whole),
    );
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

class JavaString {
  constructor(private readonly value: string) {}
  replaceAll(regex: string, replacement: string): string {
    return this.value.replace(new RegExp(regex, 'g'), replacement);
  }
  toString(): string {
    return this.value;
  }
}

/** Apache Commons `StringEscapeUtils.escapeJavaScript`, which `$util.escapeJavaScript` is. */
function escapeJavaScript(text: unknown): JavaString {
  const escaped = String(text ?? '').replace(/[\\"'/\n\r\t\b\f]|[^\x20-\x7e]/g, (character) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };
    if (named[character]) return named[character];
    if (/[\\"'/]/.test(character)) return `\\${character}`;
    return `\\u${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  });
  return new JavaString(escaped);
}

function pathOf(json: unknown, path: string): unknown {
  if (path === '$') return json;
  return path
    .replace(/^\$\./, '')
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], json);
}

export interface TemplateRequest {
  /** The body (the client's for a request template, the integration's for a response template). */
  body?: string;
  params?: Record<string, string>;
  context?: Record<string, unknown>;
}

export interface Rendered {
  text: string;
  /** `$context.responseOverride.status`, when the template set it. */
  status?: number;
}

export function renderMappingTemplate(template: string, request: TemplateRequest = {}): Rendered {
  const body = request.body ?? '';
  const json = body.trim() === '' ? undefined : JSON.parse(body);
  const responseOverride: { status?: number } = {};
  const text = render(template, {
    input: {
      json: (path: string) => (json === undefined ? '' : JSON.stringify(pathOf(json, path))),
      path: (path: string) => pathOf(json, path),
      params: (name: string) => request.params?.[name] ?? '',
      body,
    },
    util: { escapeJavaScript },
    context: {
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      path: '/dev/backup',
      ...request.context,
      responseOverride,
    },
  });
  return { text, status: responseOverride.status };
}

/** `POST /backup`'s integration and its templates, as a single-group deployment of "demo" has them. */
export function backupApi(metadataAndBackupS3Path = 's3://clonesquad-cmdb-local/clonesquad') {
  const parameters = resolveParameters({ groupName: 'demo', metadataAndBackupS3Path });
  const { Resources } = triggerResources(parameters, resourceNames('demo', 'dev'), 'dev');
  type Integration = {
    Type: string;
    RequestTemplates: Record<string, unknown>;
    IntegrationResponses: {
      StatusCode: string;
      SelectionPattern?: string;
      ResponseTemplates: Record<string, string>;
    }[];
  };
  const integrationOf = (logicalId: string) =>
    (Resources[logicalId as keyof typeof Resources] as unknown as { Properties: { Integration: Integration } })
      .Properties.Integration;
  const integration = integrationOf('BackupApiStartMethod');
  const response = (pattern?: string) =>
    integration.IntegrationResponses.find((entry) => entry.SelectionPattern === pattern)!.ResponseTemplates[
      'application/json'
    ];
  return {
    start: {
      integration,
      request: deployedText(integration.RequestTemplates['application/json']),
      ok: response(undefined),
      refused: integration.IntegrationResponses.find((entry) => entry.SelectionPattern)?.ResponseTemplates[
        'application/json'
      ],
    },
    /** `GET /backup/{id}`: a Lambda proxy integration, no template. */
    status: integrationOf('BackupApiStatusMethod'),
  };
}
