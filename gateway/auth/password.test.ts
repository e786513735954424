import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, verifyPassword, verifyPasswordAsync } from './password.js';

describe('password hashes', () => {
  const stored = hashPassword('correct horse');

  it('has the documented format', () => {
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(parsePasswordHash(stored).salt).toHaveLength(16);
  });

  it('uses a fresh salt every time', () => {
    expect(hashPassword('correct horse')).not.toBe(stored);
  });

  it('verifies (sync and async)', async () => {
    expect(verifyPassword('correct horse', stored)).toBe(true);
    expect(verifyPassword('correct horsf', stored)).toBe(false);
    expect(await verifyPasswordAsync(Buffer.from('correct horse'), stored)).toBe(true);
    expect(await verifyPasswordAsync('', stored)).toBe(false);
  });

  it.each([
    '',
    'plain',
    'scrypt$16384$8$1$c2FsdA==',
    'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
    'bcrypt$x$y$z$a$b',
  ])('rejects the malformed hash %j with a coded error', (bad) => {
    expect(() => parsePasswordHash(bad)).toThrow(expect.objectContaining({ code: 'PASSWORD_HASH_FORMAT' }));
  });
});
