import { allowed } from './service';

describe('the service allowlist', () => {
  const list = ['https://erp.example.com/api/', 'http://127.0.0.1:8080/'];
  it.each([
    ['https://erp.example.com/api/credit?x=1', true],
    ['https://erp.example.com/api', false],
    ['https://erp.example.com/admin', false],
    ['http://erp.example.com/api/credit', false],
    ['https://erp.example.com.evil.test/api/credit', false],
    ['https://user:pw@erp.example.com/api/credit', false],
    ['https://erp.example.com:444/api/credit', false],
    ['http://127.0.0.1:8080/anything', true],
    ['http://127.0.0.1:8081/anything', false],
    ['not a url', false],
  ])('%s -> %s', (url, ok) => {
    expect(allowed(url, list)).toBe(ok);
  });

  it('allows nothing when empty', () => {
    expect(allowed('https://erp.example.com/api/credit', [])).toBe(false);
  });
});
