/**
 * Email address validation per RFC 3696 section 3 (with the RFC 5321 path limit): at most 320 characters,
 * a local part of at most 64 and a domain of at most 255, dot-separated labels of at most 63.
 */
const LOCAL_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** Returns why an address is invalid, or null when it is valid. */
export function emailAddressProblem(address: string): string | null {
  if (address.length > 320) return 'an email address has at most 320 characters';
  if (/^\s|\s$/.test(address)) return 'the address starts or ends with a space; remove it';
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return 'an email address needs a local part, "@" and a domain';
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return 'the local part (before "@") has at most 64 characters';
  if (domain.length > 255) return 'the domain has at most 255 characters';
  const quoted = local.startsWith('"') && local.endsWith('"') && local.length >= 2;
  if (quoted) {
    if (/(^|[^\\])"/.test(local.slice(1, -1))) return 'a quoted local part must escape inner quotes';
  } else if (!local.split('.').every((atom) => LOCAL_ATOM.test(atom))) {
    if (local.split('.').some((atom) => atom === ''))
      return 'the local part (before "@") has two dots in a row, or starts or ends with a dot';
    const bad = [...local].find((ch) => ch !== '.' && !LOCAL_ATOM.test(ch));
    return `the local part (before "@") has ${JSON.stringify(bad)} which is only allowed inside quotes`;
  }
  const labels = domain.split('.');
  if (labels.length < 2) return 'the domain needs at least two labels (example.com)';
  for (const label of labels) {
    if (label.length > 63) return 'each domain label has at most 63 characters';
    if (!LABEL.test(label)) return `the domain label "${label}" is not valid`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string))
    return 'the top-level domain cannot be all-numeric';
  return null;
}
