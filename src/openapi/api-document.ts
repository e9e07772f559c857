// The OpenAPI description narrowed to the configuration that runs: who may call each operation (the admin
// token, a join token, or anyone), which operations exist at all (operators' endpoints without a token
// outside dev mode, the dev tools outside dev mode: neither is served), the error answers that come with
// each access rule, and request bodies as strict as the validation pipe (unknown fields are refused).
import type {
  OpenAPIObject,
  OperationObject,
  PathItemObject,
  ReferenceObject,
  SchemaObject,
  SecurityRequirementObject,
} from '@nestjs/swagger';
import { VALIDATION_OPTIONS } from '../common/validation.pipe';
import type { AppConfig } from '../config/app-config';
import { DEV_TOOLS_TAG, ERROR_MEANINGS, errorResponse, SECURITY } from './openapi.decorators';

export type ApiDocsConfig = Pick<AppConfig, 'adminToken' | 'authSecret' | 'devMode'>;

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

const OPERATOR_401 = 'no admin token, or a wrong one: send Authorization: Bearer <the --admin-token>';
const JOIN_401 = 'no join token, or one that is not valid (signature, exp, --auth-max-age, claims)';
const WEBHOOK_401 = 'no LiveKit signature, or one that does not match the body (answered before the body is read)';

/** The operations of one path item, by method. */
export function operationsOf(item: PathItemObject): Array<[HttpMethod, OperationObject]> {
  return HTTP_METHODS.flatMap((method) =>
    item[method] ? [[method, item[method]] as [HttpMethod, OperationObject]] : [],
  );
}

export function apiDocumentFor(base: OpenAPIObject, config: ApiDocsConfig): OpenAPIObject {
  const document = structuredClone(base);
  const access = accessRules(config);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of operationsOf(item)) {
      const schemes = new Set((operation.security ?? []).flatMap((requirement) => Object.keys(requirement)));
      const devTool = operation.tags?.includes(DEV_TOOLS_TAG) ?? false;
      const rule = schemes.has(SECURITY.join)
        ? access.join
        : schemes.has(SECURITY.admin)
          ? devTool
            ? access.devTool
            : access.operator
          : undefined;
      if (rule === 'not served') {
        delete item[method];
        continue;
      }
      if (rule) {
        if (rule.security.length > 0) operation.security = rule.security;
        else delete operation.security;
        for (const [status, description] of Object.entries(rule.errors))
          operation.responses[status] ??= errorResponse(description);
      }
      if (schemes.has(SECURITY.livekit)) operation.responses['401'] ??= errorResponse(WEBHOOK_401);
      // Handlers read Authorization with @Headers, which describes it as a parameter; the security
      // requirements say it, and OpenAPI ignores a header parameter of that name.
      operation.parameters = operation.parameters?.filter(
        (parameter) =>
          '$ref' in parameter || parameter.in !== 'header' || parameter.name.toLowerCase() !== 'authorization',
      );
      operation.responses = sortedByStatus(operation.responses);
    }
    if (operationsOf(item).length === 0) delete document.paths[path];
  }
  keepUsedSecuritySchemes(document);
  if (VALIDATION_OPTIONS.whitelist && VALIDATION_OPTIONS.forbidNonWhitelisted) forbidUnknownFields(document);
  return document;
}

interface AccessRule {
  /** Alternatives; `{}` among them: credentials are optional. Empty: open. */
  security: SecurityRequirementObject[];
  /** The error answers this rule adds, by status. */
  errors: Record<number, string>;
}

function accessRules(config: ApiDocsConfig): {
  operator: AccessRule | 'not served';
  devTool: AccessRule | 'not served';
  join: AccessRule;
} {
  const admin = config.adminToken ? [{ [SECURITY.admin]: [] }] : [];
  const operator: AccessRule | 'not served' = config.adminToken
    ? { security: admin, errors: { 401: OPERATOR_401 } }
    : config.devMode
      ? { security: [], errors: {} }
      : 'not served';
  // The admin token is also a join credential (it lets an operator choose room settings); without
  // --auth-secret it is optional, and a wrong one is taken as no token at all.
  const join: AccessRule = config.authSecret
    ? {
        security: [{ [SECURITY.join]: [] }, ...admin],
        errors: { 401: JOIN_401, 403: ERROR_MEANINGS[403] ?? 'forbidden' },
      }
    : { security: admin.length > 0 ? [{}, ...admin] : [], errors: {} };
  return { operator, devTool: config.devMode ? operator : 'not served', join };
}

function keepUsedSecuritySchemes(document: OpenAPIObject): void {
  const schemes = document.components?.securitySchemes;
  if (!schemes) return;
  const used = new Set(
    Object.values(document.paths).flatMap((item) =>
      operationsOf(item).flatMap(([, operation]) =>
        (operation.security ?? []).flatMap((requirement) => Object.keys(requirement)),
      ),
    ),
  );
  for (const name of Object.keys(schemes)) if (!used.has(name)) delete schemes[name];
}

function sortedByStatus(responses: OperationObject['responses']): OperationObject['responses'] {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
}

/** Every object schema a JSON request body reaches, closed to other properties (the pipe answers 400 to them). */
function forbidUnknownFields(document: OpenAPIObject): void {
  const schemas = document.components?.schemas ?? {};
  const seen = new Set<SchemaObject>();
  const close = (schema: SchemaObject | ReferenceObject | undefined): void => {
    if (!schema) return;
    if ('$ref' in schema) return close(schemas[schema.$ref.replace('#/components/schemas/', '')]);
    if (seen.has(schema)) return;
    seen.add(schema);
    if (schema.type === 'object' && schema.properties && schema.additionalProperties === undefined)
      schema.additionalProperties = false;
    for (const property of Object.values(schema.properties ?? {})) close(property);
    for (const part of [...(schema.allOf ?? []), ...(schema.oneOf ?? []), ...(schema.anyOf ?? [])]) close(part);
    if (schema.items) close(schema.items);
  };
  for (const item of Object.values(document.paths)) {
    for (const [, operation] of operationsOf(item)) {
      const body = operation.requestBody;
      if (body && !('$ref' in body)) close(body.content['application/json']?.schema);
    }
  }
}
