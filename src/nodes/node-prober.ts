import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Injectable } from '@nestjs/common';
import type { ProbeFailureKind } from '../events/node.events';
import type { ProbeResult } from './node-health.state';

export const NODE_PROBER = Symbol('NodeProber');

export interface NodeProber {
  probe(nodeUrl: string, timeoutMs: number): Promise<ProbeResult>;
}

/** `GET /` on the node's HTTP side; LiveKit answers 200 "OK" (406 when its own stats are stale). */
export function healthUrlOf(nodeUrl: string): URL {
  const url = new URL(nodeUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/';
  url.search = '';
  return url;
}

function failureKind(error: NodeJS.ErrnoException): ProbeFailureKind {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    default:
      return 'error';
  }
}

@Injectable()
export class HttpNodeProber implements NodeProber {
  probe(nodeUrl: string, timeoutMs: number): Promise<ProbeResult> {
    const started = performance.now();
    const url = healthUrlOf(nodeUrl);
    const send = url.protocol === 'https:' ? httpsRequest : request;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: ProbeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        resolve(result);
      };
      const latency = () => Math.round(performance.now() - started);
      // A fresh connection per probe (no keep-alive): a killed node must answer "refused", not hang on a dead socket.
      const req = send(url, { method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
        res.resume();
        if (res.statusCode === 200) finish({ ok: true, latencyMs: latency() });
        else finish({ ok: false, kind: 'status', detail: `GET / answered ${res.statusCode}`, latencyMs: latency() });
      });
      const timer = setTimeout(
        () => finish({ ok: false, kind: 'timeout', detail: `no answer within ${timeoutMs} ms`, latencyMs: latency() }),
        timeoutMs,
      );
      req.on('error', (error: NodeJS.ErrnoException) =>
        finish({ ok: false, kind: failureKind(error), detail: error.code ?? error.message, latencyMs: latency() }),
      );
      req.end();
    });
  }
}
