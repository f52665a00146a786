import fs from 'node:fs';
import { Client, Connection, type TLSConfig } from '@temporalio/client';
import type { TemporalSecurity } from './config';

/** No TLS, no API key: the local dev server. */
export const PLAINTEXT: TemporalSecurity = { tls: undefined, apiKey: undefined };

/**
 * The `tls` and `apiKey` options of a Temporal connection (client or worker) for `security`, with the
 * PEM files read now, so a rotated certificate is picked up by the next connection.
 */
export function temporalConnectionOptions(security: TemporalSecurity): {
  tls?: TLSConfig;
  apiKey?: string;
} {
  const { tls, apiKey } = security;
  const options: { tls?: TLSConfig; apiKey?: string } = {};
  if (tls) {
    options.tls = {
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
      ...(tls.caPath ? { serverRootCACertificate: fs.readFileSync(tls.caPath) } : {}),
      ...(tls.certPath && tls.keyPath
        ? { clientCertPair: { crt: fs.readFileSync(tls.certPath), key: fs.readFileSync(tls.keyPath) } }
        : {}),
    };
  }
  if (apiKey) options.apiKey = apiKey;
  return options;
}

/** Connects a Temporal client; the connection is returned too, for operator calls and closing. */
export async function connectTemporal(
  address: string,
  namespace: string,
  security: TemporalSecurity = PLAINTEXT,
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address, ...temporalConnectionOptions(security) });
  return { client: new Client({ connection, namespace }), connection };
}
