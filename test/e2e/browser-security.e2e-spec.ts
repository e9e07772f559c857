// What a browser is told: security headers (helmet) with a Content-Security-Policy the sample app
// lives with (it talks to the media nodes), and CORS only for the origins an operator lists.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { InProcessApp, startInProcessApp } from '../support/in-process-app';

describe('security headers and CORS', () => {
  let plain: InProcessApp;
  let listed: InProcessApp;

  beforeAll(async () => {
    plain = await startInProcessApp({ nodes: 2 });
    listed = await startInProcessApp({ nodes: 2, args: ['--cors-origin', 'https://app.example.com'] });
  });
  afterAll(async () => {
    await plain?.close();
    await listed?.close();
  });

  it('sends helmet headers with a CSP that lets pages reach the media nodes and never upgrades http', async () => {
    const res = await request(plain.app.getHttpServer()).get('/health').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    const csp = res.headers['content-security-policy'] as string;
    const connect = csp.split(';').find((d) => d.trim().startsWith('connect-src'))!;
    for (const source of ["'self'", 'ws://127.0.0.11:7880', 'http://127.0.0.11:7880', 'ws://127.0.0.12:7880'])
      expect(connect.split(' ')).toContain(source);
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(csp).toContain("script-src 'self'");
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('by default tells no other origin it may call the API', async () => {
    const simple = await request(plain.app.getHttpServer())
      .get('/health')
      .set('Origin', 'https://evil.example')
      .expect(200);
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request(plain.app.getHttpServer())
      .options('/api/sessions/s/participants')
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('allows exactly the origins given with --cors-origin', async () => {
    const allowed = await request(listed.app.getHttpServer())
      .get('/health')
      .set('Origin', 'https://app.example.com')
      .expect(200);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await request(listed.app.getHttpServer())
      .get('/health')
      .set('Origin', 'https://evil.example')
      .expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
