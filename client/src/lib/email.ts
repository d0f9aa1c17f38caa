/**
 * The email check the server makes on sign-up (pydantic's EmailStr, i.e. the email-validator
 * package without a DNS look-up), done here first so the form can say what is wrong at once.
 */

// The characters allowed unquoted before the @ (RFC 5322 atext), plus anything beyond ASCII.
const LOCAL_CHAR = /^[a-zA-Z0-9_!#$%&'*+\-/=?^`{|}~.\u0080-\u{10FFFF}]$/u;
// A domain label: letters, digits and hyphens (plus anything beyond ASCII), no hyphen at either end.
const DOMAIN_LABEL = /^[a-zA-Z0-9\u0080-\u{10FFFF}](?:[a-zA-Z0-9\-\u0080-\u{10FFFF}]*[a-zA-Z0-9\u0080-\u{10FFFF}])?$/u;
// Names that the server refuses: reserved for special uses, never a mailbox.
const SPECIAL_USE = ['arpa', 'invalid', 'local', 'localhost', 'onion', 'test'];

/** What is wrong with `value` as an email address, in words for the form; null when it is fine. */
export function emailProblem(value: string): string | null {
  const email = value.trim();
  if (!email) return 'Enter your email address.';
  if (/\s/.test(email)) return 'An email address cannot contain spaces.';
  const at = email.lastIndexOf('@');
  if (at === -1) return 'An email address needs an @, as in name@example.com.';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (!local) return 'Add the part before the @, as in name@example.com.';
  if (!domain) return 'Add the part after the @, as in name@example.com.';
  if (local.includes('@')) return 'An email address has only one @.';
  if (local.startsWith('"')) return 'Quotes are not allowed in an email address here.';
  const badLocal = [...local].find((c) => !LOCAL_CHAR.test(c));
  if (badLocal) return `The part before the @ cannot contain “${badLocal}”.`;
  if (local.startsWith('.')) return 'An email address cannot start with a full stop.';
  if (local.endsWith('.')) return 'The part before the @ cannot end with a full stop.';
  if (local.includes('..')) return 'An email address cannot have two full stops in a row.';
  if (domain.startsWith('[')) return 'Use a domain name after the @, not an IP address.';
  if (domain.endsWith('.')) return 'An email address cannot end with a full stop.';
  if (domain.startsWith('.')) return 'The part after the @ cannot start with a full stop.';
  if (domain.includes('..')) return 'An email address cannot have two full stops in a row.';
  const labels = domain.split('.');
  if (labels.length < 2) return 'The part after the @ needs a full stop, as in example.com.';
  for (const label of labels) {
    if (label.length > 63) return 'A part of the domain after the @ is too long.';
    if (!DOMAIN_LABEL.test(label)) {
      if (label.startsWith('-') || label.endsWith('-')) return 'A part of the domain cannot start or end with a hyphen.';
      const bad = [...label].find((c) => !/^[a-zA-Z0-9\-\u0080-\u{10FFFF}]$/u.test(c));
      return bad ? `The part after the @ cannot contain “${bad}”.` : 'The part after the @ is not a valid domain.';
    }
  }
  const tld = labels[labels.length - 1];
  if (!/[a-zA-Z\u0080-\u{10FFFF}]$/u.test(tld)) return 'The part after the last full stop is not a valid ending (like .com).';
  if (SPECIAL_USE.includes(tld.toLowerCase())) return `“.${tld}” addresses are reserved and cannot receive email.`;
  return null;
}
