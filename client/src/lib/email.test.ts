import { describe, expect, it } from 'vitest';
import { emailProblem } from './email';

// Each address with the server's verdict on it (pydantic's EmailStr, checked by hand against
// RegisterRequest): the client must agree, so a refusal is said before the form is sent.
const ACCEPTED = ['a@b.com', 'user+tag@example.com', 'first.last@sub.example.co.uk', 'ü@bücher.de', 'a@b.c-m', ' padded@example.com '];
const REFUSED: [string, RegExp][] = [
  ['', /Enter your email/],
  ['name', /needs an @/],
  ['a@b', /needs a full stop/],
  ['a@localhost', /needs a full stop/],
  ['a@b.test', /reserved/],
  ['a@b.local', /reserved/],
  ['a b@c.com', /spaces/],
  ['a@@b.com', /only one @/],
  ['a@b..com', /two full stops/],
  ['a@-b.com', /hyphen/],
  ['a@b.co1', /not a valid ending/],
  ['.a@b.com', /cannot start with a full stop/],
  ['a.@b.com', /cannot end with a full stop/],
  ['a..b@b.com', /two full stops/],
  ['a@b_c.com', /cannot contain “_”/],
  ['a@b.com.', /cannot end with a full stop/],
  ['"a"@b.com', /Quotes/],
  ['a@[1.2.3.4]', /IP address/],
  ['@example.com', /before the @/],
  ['name@', /after the @/],
];

describe('emailProblem', () => {
  it.each(ACCEPTED)('accepts %j, as the server does', (email) => {
    expect(emailProblem(email)).toBeNull();
  });

  it.each(REFUSED)('refuses %j, as the server does, saying why', (email, why) => {
    expect(emailProblem(email)).toMatch(why);
  });
});
