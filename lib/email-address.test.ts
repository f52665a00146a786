import { emailAddressProblem } from './email-address';

describe('email address messages (issue 15: a leading space is not "a character that must be quoted")', () => {
  it('names a space at the start or end', () => {
    expect(emailAddressProblem(' ana@example.com')).toBe(
      'the address starts or ends with a space; remove it',
    );
    expect(emailAddressProblem('ana@example.com ')).toBe(
      'the address starts or ends with a space; remove it',
    );
  });

  it('names the character that is not allowed and a misplaced dot', () => {
    expect(emailAddressProblem('ana,maria@example.com')).toBe(
      'the local part (before "@") has "," which is only allowed inside quotes',
    );
    expect(emailAddressProblem('ana..maria@example.com')).toBe(
      'the local part (before "@") has two dots in a row, or starts or ends with a dot',
    );
    expect(emailAddressProblem('ana@example.com')).toBeNull();
  });
});
