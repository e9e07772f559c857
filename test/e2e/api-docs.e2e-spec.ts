// The OpenAPI description is the one of the configuration that runs: who may call each operation,
// which operations exist, and what the validation pipe refuses; and its paths answer 405 with Allow to
// the methods they do not serve. (test/e2e/schemathesis.e2e-spec.ts checks the answers against it.)
import { afterEach, describe, expect, it } from '@jest/globals';
import type { OpenAPIObject, OperationObject, SchemaObject } from '@nestjs/swagger';
import request from 'supertest';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';
import { must } from '../support/must';

const AUTH_SECRET = 'the-developers-app-shares-this-secret-0123';
const JOIN = 'post /api/sessions/{sessionId}/participants';
const GET_TOKEN = 'post /api/get-token';
const OPERATORS = ['get /api/sessions', 'get /api/nodes', 'get /api/info', 'get /metrics'];
const DEV_TOOLS = ['post /api/dev/sessions/{sessionId}/crash-node', 'post /api/dev/crash-instance'];

describe('the API description of the configuration that runs', () => {
  const stacks: InProcessApp[] = [];
  afterEach(async () => {
    for (const stack of stacks.splice(0)) await stack.close();
  });
  const describedBy = async (options: Parameters<typeof startInProcessApp>[0]) => {
    const stack = await startInProcessApp(options);
    stacks.push(stack);
    const document = (await request(stack.app.getHttpServer()).get('/api/docs-json').expect(200)).body as OpenAPIObject;
    const operations = new Map<string, OperationObject>(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.entries(item).map(([method, operation]) => [`${method} ${path}`, operation as OperationObject]),
      ),
    );
    const op = (key: string): OperationObject => {
      const operation = operations.get(key);
      if (!operation) throw new Error(`${key} is not described`);
      return operation;
    };
    const errors = (key: string) => Object.keys(op(key).responses).filter((status) => Number(status) >= 400);
    return { stack, document, operations, op, errors };
  };

  it('--auth-secret and --admin-token: joins need a join token or the admin token, operators the admin token; no dev tools', async () => {
    const { document, operations, op, errors } = await describedBy({ args: ['--auth-secret', AUTH_SECRET] });
    for (const key of [JOIN, GET_TOKEN]) {
      expect(op(key).security).toEqual([{ join: [] }, { admin: [] }]);
      expect(errors(key)).toEqual(expect.arrayContaining(['401', '403']));
    }
    for (const key of OPERATORS) {
      expect(op(key).security).toEqual([{ admin: [] }]);
      expect(errors(key)).toContain('401');
    }
    for (const key of DEV_TOOLS) expect(operations.has(key)).toBe(false);
    expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual([
      'admin',
      'join',
      'livekit-webhook',
    ]);
  });

  it('--admin-token alone: joins take an optional admin token and answer no 401 or 403', async () => {
    const { document, op, errors } = await describedBy({});
    for (const key of [JOIN, GET_TOKEN]) {
      expect(op(key).security).toEqual([{}, { admin: [] }]);
      expect(errors(key)).not.toContain('401');
      expect(errors(key)).not.toContain('403');
    }
    for (const key of OPERATORS) expect(op(key).security).toEqual([{ admin: [] }]);
    expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual(['admin', 'livekit-webhook']);
  });

  it("dev mode without a token: operators' endpoints and the dev tools open, no credentials anywhere but the webhook", async () => {
    const { document, operations, op, errors } = await describedBy({ adminToken: null, args: ['--dev'] });
    for (const key of [...OPERATORS, ...DEV_TOOLS, JOIN, GET_TOKEN]) {
      expect(op(key).security).toBeUndefined();
      expect(errors(key)).not.toContain('401');
    }
    expect([...operations].filter(([, operation]) => operation.security).map(([key]) => key)).toEqual([
      'post /webhooks/livekit',
    ]);
    expect(Object.keys(document.components?.securitySchemes ?? {})).toEqual(['livekit-webhook']);
  });

  it("no token outside dev mode: operators' endpoints are not described, as they are not served", async () => {
    const { stack, operations } = await describedBy({ adminToken: null });
    for (const key of [...OPERATORS, ...DEV_TOOLS]) expect(operations.has(key)).toBe(false);
    await request(stack.app.getHttpServer()).get('/api/sessions').expect(404);
    expect([...operations.keys()].sort()).toEqual(
      [
        'delete /api/sessions/{sessionId}/participants/{identity}',
        GET_TOKEN,
        JOIN,
        'post /api/sessions/{sessionId}/participants/{identity}/rejoin',
        'get /health',
        'get /health/ready',
        'post /webhooks/livekit',
      ].sort(),
    );
  });

  it('request bodies are closed to unknown fields, nested ones too, and Authorization is no header parameter', async () => {
    const { document, operations } = await describedBy({});
    const schemas = document.components?.schemas as Record<string, SchemaObject>;
    for (const name of ['CreateParticipantDto', 'RoomSettingsDto', 'RejoinDto', 'LeaveDto', 'GetTokenDto'])
      expect([name, schemas[name]?.additionalProperties]).toEqual([name, false]);
    // Answers are not closed: a client must take a field added later.
    expect(must(schemas.JoinResponseDto, 'the JoinResponseDto schema').additionalProperties).toBeUndefined();
    const headers = [...operations.values()].flatMap((operation) =>
      (operation.parameters ?? []).filter((p) => 'in' in p && p.in === 'header'),
    );
    expect(headers).toEqual([]);
  });

  it('a described path answers 405 with Allow to other methods, OPTIONS with Allow; an unknown path keeps its 404', async () => {
    const { stack, document } = await describedBy({});
    const http = () => request(stack.app.getHttpServer());
    for (const [template, item] of Object.entries(document.paths)) {
      const path = template.replace(/\{[^}]+\}/g, 'x');
      const methods = Object.keys(item).map((method) => method.toUpperCase());
      const allow = [...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
      for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'TRACE'].filter((m) => !methods.includes(m))) {
        const res = await http()[method.toLowerCase() as 'get'](path);
        expect([method, path, res.status, res.headers.allow]).toEqual([method, path, 405, allow]);
        expect(res.body).toEqual({
          statusCode: 405,
          error: 'Method Not Allowed',
          message: `${method} is not served here; ${path} answers ${allow}`,
        });
      }
      const options = await http().options(path);
      expect([path, options.status, options.headers.allow]).toEqual([path, 204, allow]);
    }
    expect((await http().trace('/api/nowhere')).status).toBe(404);
    expect((await http().trace('/api/docs-json')).status).toBe(404);
    // Express routes match any case and a trailing slash; so does the table of described paths.
    expect((await http().post('/API/GET-TOKEN/').send({ sessionId: 'any-case' })).status).toBe(200);
    expect((await http().put('/API/GET-TOKEN/')).status).toBe(405);
  });
});
