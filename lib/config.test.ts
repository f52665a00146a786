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
