import type { PoolClient } from 'pg';
import type { Db } from './index';

export interface ListenerHandlers {
  /** A notification on the channel. */
  notify(payload: string): void;
  /** The connection broke: notifications may have been missed until `restored`. */
  lost?(err: Error): void;
  /** Listening again after a loss. */
  restored?(): void;
}

/**
 * A LISTEN on one channel over a connection taken from the pool. After a failed start or a loss it
 * retries every `retryMs` until `stop`, and tells its owner about a loss and about each recovery, since
 * notifications sent in between are gone.
 */
export class PgListener {
  private client: PoolClient | undefined;
  private starting: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly db: Db,
    private readonly channel: string,
    private readonly handlers: ListenerHandlers,
    private readonly retryMs = 1000,
  ) {
    if (!/^[a-z_]+$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
  }

  /** Whether notifications are flowing now. */
  get live(): boolean {
    return this.client !== undefined;
  }

  /** Starts listening; resolves once notifications flow. If that fails, it keeps trying until `stop`. */
  start(): Promise<void> {
    this.stopped = false;
    if (this.client) return Promise.resolve();
    this.starting ??= this.connect()
      .catch((err: unknown) => {
        this.retry();
        throw err;
      })
      .finally(() => {
        this.starting = undefined;
      });
    return this.starting;
  }

  /** Stops listening and gives the connection back. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting?.catch(() => undefined);
    if (!this.stopped) return; // started again meanwhile
    const client = this.client;
    this.client = undefined;
    if (client) await this.unlisten(client);
  }

  private async connect(): Promise<void> {
    const client = await this.db.pool.connect();
    client.on('notification', (msg) => {
      if (msg.channel === this.channel) this.handlers.notify(msg.payload ?? '');
    });
    client.on('error', (err) => this.lost(client, err));
    try {
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    if (this.stopped) await this.unlisten(client);
    else this.client = client;
  }

  private lost(client: PoolClient, err: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.release(err);
    this.handlers.lost?.(err);
    this.retry();
  }

  private retry(): void {
    setTimeout(() => {
      if (this.stopped || this.client) return;
      this.start().then(
        () => this.handlers.restored?.(),
        () => undefined, // start() has scheduled the next attempt
      );
    }, this.retryMs).unref();
  }

  private async unlisten(client: PoolClient): Promise<void> {
    try {
      await client.query(`UNLISTEN ${this.channel}`);
      client.release();
    } catch (err) {
      client.release(err as Error);
    }
  }
}
