import { ConfigError, loadConfig } from './config';

describe('sign-in settings', () => {
  it('default to 12 h idle, 7 days in all, 5 failures per 15 minutes, 72 h invites, 60 min resets', () => {
    expect(loadConfig({}).auth).toEqual({
      sessionIdleMinutes: 720,
      sessionMaxHours: 168,
      signInMaxFailures: 5,
      signInWindowMinutes: 15,
      inviteValidHours: 72,
      resetValidMinutes: 60,
    });
  });

  it('are read from the environment and must be positive integers', () => {
    const config = loadConfig({
      SESSION_IDLE_MINUTES: '30',
      SESSION_MAX_HOURS: '12',
      SIGN_IN_MAX_FAILURES: '3',
      SIGN_IN_WINDOW_MINUTES: '10',
      INVITE_VALID_HOURS: '24',
      PASSWORD_RESET_VALID_MINUTES: '20',
      WEB_DIST_DIR: '/srv/crm-web',
    });
    expect(config.auth).toEqual({
      sessionIdleMinutes: 30,
      sessionMaxHours: 12,
      signInMaxFailures: 3,
      signInWindowMinutes: 10,
      inviteValidHours: 24,
      resetValidMinutes: 20,
    });
    expect(config.webDistDir).toBe('/srv/crm-web');
    expect(() => loadConfig({ SESSION_IDLE_MINUTES: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ SIGN_IN_MAX_FAILURES: 'five' })).toThrow(ConfigError);
  });
});

describe('security settings', () => {
  it('bind loopback, trust no proxy, and bound tokens to 90 days by default, 366 at most', () => {
    const config = loadConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.trustProxy).toBe(false);
    expect(config.security).toEqual({
      authFailureMax: 100,
      expensiveMax: 60,
      expensiveWindowSeconds: 60,
      tokenDefaultValidDays: 90,
      tokenMaxValidDays: 366,
    });
  });

  it('are read from the environment', () => {
    const config = loadConfig({
      HOST: '0.0.0.0',
      TRUST_PROXY: '1',
      AUTH_FAILURE_MAX: '0',
      EXPENSIVE_RATE_LIMIT: '5',
      EXPENSIVE_RATE_WINDOW_SECONDS: '10',
      TOKEN_DEFAULT_VALID_DAYS: '0',
      TOKEN_MAX_VALID_DAYS: '0',
    });
    expect(config.host).toBe('0.0.0.0');
    expect(config.trustProxy).toBe(1);
    expect(config.security).toEqual({
      authFailureMax: 0,
      expensiveMax: 5,
      expensiveWindowSeconds: 10,
      tokenDefaultValidDays: 0,
      tokenMaxValidDays: 0,
    });
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
  });

  it('refuse a default token lifetime beyond the maximum, or unlimited under one', () => {
    expect(() => loadConfig({ TOKEN_DEFAULT_VALID_DAYS: '400' })).toThrow(
      /TOKEN_DEFAULT_VALID_DAYS \(400\) must not exceed TOKEN_MAX_VALID_DAYS \(366\)/,
    );
    expect(() => loadConfig({ TOKEN_DEFAULT_VALID_DAYS: '0' })).toThrow(
      /TOKEN_DEFAULT_VALID_DAYS must be set/,
    );
    expect(() => loadConfig({ EXPENSIVE_RATE_WINDOW_SECONDS: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: '$(rm)' })).toThrow(/TRUST_PROXY/);
  });
});

describe('worker tuning (WORKER_MAX_*)', () => {
  it("leaves the cache to the SDK's default unless set, and takes the concurrency limits", () => {
    expect(loadConfig({}).workerTuning).toEqual({
      maxCachedWorkflows: undefined,
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentActivityTaskExecutions: 50,
    });
    const tuned = loadConfig({
      WORKER_MAX_CACHED_WORKFLOWS: '2000',
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '10',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '20',
    }).workerTuning;
    expect(tuned).toEqual({
      maxCachedWorkflows: 2000,
      maxConcurrentWorkflowTaskExecutions: 10,
      maxConcurrentActivityTaskExecutions: 20,
    });
    expect(() => loadConfig({ WORKER_MAX_CACHED_WORKFLOWS: '0' })).toThrow(
      'WORKER_MAX_CACHED_WORKFLOWS must be at least 1',
    );
  });
});

describe('WEBHOOK_DELIVERY_RETENTION_DAYS', () => {
  it('defaults to 7 days, takes a whole number of days and refuses 0', () => {
    expect(loadConfig({}).webhookDeliveryRetentionDays).toBe(7);
    expect(loadConfig({ WEBHOOK_DELIVERY_RETENTION_DAYS: '30' }).webhookDeliveryRetentionDays).toBe(30);
    expect(() => loadConfig({ WEBHOOK_DELIVERY_RETENTION_DAYS: '0' })).toThrow(
      'WEBHOOK_DELIVERY_RETENTION_DAYS must be at least 1',
    );
    expect(() => loadConfig({ WEBHOOK_DELIVERY_RETENTION_DAYS: 'week' })).toThrow(ConfigError);
  });
});

describe('WEBHOOK_SECRETS', () => {
  const secret = 'a-secret-of-16-chars';
  it('maps each source to its secret, and none when unset', () => {
    expect(loadConfig({}).webhookSecrets).toEqual({});
    expect(loadConfig({ WEBHOOK_SECRETS: ` erp=${secret}, forms=${secret}x` }).webhookSecrets).toEqual({
      erp: secret,
      forms: `${secret}x`,
    });
  });

  it('keeps an = inside a secret', () => {
    expect(loadConfig({ WEBHOOK_SECRETS: `erp=${secret}==` }).webhookSecrets).toEqual({ erp: `${secret}==` });
  });

  it.each([
    ['no =', 'erp'],
    ['an upper-case source', `ERP=${secret}`],
    ['a short secret', 'erp=short'],
    ['a source twice', `erp=${secret},erp=${secret}`],
  ])('refuses %s', (_what, value) => {
    expect(() => loadConfig({ WEBHOOK_SECRETS: value })).toThrow(ConfigError);
  });
});
