/**
 * Temporal TLS, mTLS and API-key settings: how TEMPORAL_TLS* and TEMPORAL_API_KEY read, and that a
 * connection really uses them (a TLS server of our own, with its own CA, sees the handshake and headers).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ConfigError, loadConfig } from './config';
import { connectTemporal, temporalConnectionOptions } from './temporal';

let dir: string;
const file = (name: string) => path.join(dir, name);

/** A CA, a server certificate for `temporal.internal` and a client certificate, all signed by the CA. */
function makeCertificates(): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  for (const [name, cn, ext] of [
    ['server', 'temporal.internal', 'subjectAltName=DNS:temporal.internal'],
    ['client', 'crm-worker', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    fs.writeFileSync(file(`${name}.ext`), `${ext}\n`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  makeCertificates();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('Temporal connection settings', () => {
  it('default to plaintext without an API key', () => {
    expect(loadConfig({}).temporalSecurity).toEqual({ tls: undefined, apiKey: undefined });
    expect(temporalConnectionOptions(loadConfig({}).temporalSecurity)).toEqual({});
  });

  it('TEMPORAL_TLS=true alone: TLS with the system CAs', () => {
    const security = loadConfig({ TEMPORAL_TLS: 'true' }).temporalSecurity;
    expect(security.tls).toEqual({
      serverName: undefined,
      caPath: undefined,
      certPath: undefined,
      keyPath: undefined,
    });
    expect(temporalConnectionOptions(security)).toEqual({ tls: {} });
  });

  it('mTLS files, CA and server name are read into the connection options', () => {
    const security = loadConfig({
      TEMPORAL_TLS_CERT: file('client.pem'),
      TEMPORAL_TLS_KEY: file('client.key'),
      TEMPORAL_TLS_CA: file('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    }).temporalSecurity;
    expect(security.tls).toEqual({
      serverName: 'temporal.internal',
      caPath: file('ca.pem'),
      certPath: file('client.pem'),
      keyPath: file('client.key'),
    });
    expect(temporalConnectionOptions(security)).toEqual({
      tls: {
        serverNameOverride: 'temporal.internal',
        serverRootCACertificate: fs.readFileSync(file('ca.pem')),
        clientCertPair: {
          crt: fs.readFileSync(file('client.pem')),
          key: fs.readFileSync(file('client.key')),
        },
      },
    });
  });

  it('an API key turns TLS on unless TEMPORAL_TLS=false says otherwise', () => {
    expect(loadConfig({ TEMPORAL_API_KEY: 'k-1' }).temporalSecurity).toEqual({
      tls: { serverName: undefined, caPath: undefined, certPath: undefined, keyPath: undefined },
      apiKey: 'k-1',
    });
    const plain = loadConfig({ TEMPORAL_API_KEY: 'k-1', TEMPORAL_TLS: 'false' }).temporalSecurity;
    expect(plain).toEqual({ tls: undefined, apiKey: 'k-1' });
    expect(temporalConnectionOptions(plain)).toEqual({ apiKey: 'k-1' });
  });

  it('refuses a certificate without its key, unreadable files and TLS files with TEMPORAL_TLS=false', () => {
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: file('client.pem') })).toThrow(
      /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/,
    );
    expect(() => loadConfig({ TEMPORAL_TLS_KEY: file('client.key') })).toThrow(ConfigError);
    expect(() => loadConfig({ TEMPORAL_TLS_CA: file('missing.pem') })).toThrow(
      /TEMPORAL_TLS_CA names a file/,
    );
    expect(() => loadConfig({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: file('ca.pem') })).toThrow(
      /TEMPORAL_TLS=false contradicts/,
    );
    expect(() => loadConfig({ TEMPORAL_TLS: 'maybe' })).toThrow(ConfigError);
  });
});

describe('a connection to a TLS frontend', () => {
  it('verifies the server by the CA and server name, presents the client certificate and sends the API key', async () => {
    const seen: { servername?: string; clientCn?: string; authorization?: string } = {};
    const server = http2.createSecureServer({
      key: fs.readFileSync(file('server.key')),
      cert: fs.readFileSync(file('server.pem')),
      ca: fs.readFileSync(file('ca.pem')),
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      seen.servername = typeof socket.servername === 'string' ? socket.servername : undefined;
      const cn: unknown = socket.getPeerCertificate().subject?.CN;
      seen.clientCn = typeof cn === 'string' ? cn : undefined;
    });
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => sessions.add(session));
    server.on('stream', (stream, headers) => {
      seen.authorization = headers.authorization as string | undefined;
      // Not a Temporal frontend: answer every call UNAUTHENTICATED (not retried), so the client gives up.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16' },
        { endStream: true },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const security = loadConfig({
        TEMPORAL_TLS_CERT: file('client.pem'),
        TEMPORAL_TLS_KEY: file('client.key'),
        TEMPORAL_TLS_CA: file('ca.pem'),
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
        TEMPORAL_API_KEY: 'secret-key-1',
      }).temporalSecurity;
      await expect(connectTemporal(`127.0.0.1:${port}`, 'default', security)).rejects.toThrow();
      expect(seen).toEqual({
        servername: 'temporal.internal',
        clientCn: 'crm-worker',
        authorization: 'Bearer secret-key-1',
      });
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 30_000);
});
