import { describe, expect, it } from 'vitest';
import {
  type AclAccount,
  ANONYMOUS,
  canPublish,
  canSubscribe,
  effectiveFilters,
  filterCovers,
  isValidFilter,
  substituteUsername,
  topicMatches,
} from './acl.js';

const device: AclAccount = { username: 'bin-7', role: 'device' };
const reader: AclAccount = { username: 'city', role: 'reader' };
const admin: AclAccount = { username: 'root', role: 'admin' };

describe('topicMatches (MQTT 3.1.1 §4.7)', () => {
  it.each([
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a//c', true],
    ['a/+', 'a/b/c', false],
    ['+/+', 'a/b', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/broker/heartbeat', true],
  ])('%s ~ %s -> %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe('filterCovers', () => {
  it.each([
    ['cg/#', 'cg/v1/+/+/events/#', true],
    ['cg/#', 'cg', true],
    ['cg/#', 'cg/#', true],
    ['cg/#', '#', false],
    ['cg/#', '+/v1', false],
    ['dev/bin-7/cmd/#', 'dev/#', false],
    ['dev/bin-7/cmd/#', '#', false],
    ['dev/bin-7/cmd/#', 'dev/bin-7/cmd/open', true],
    ['dev/bin-7/cmd/#', 'dev/+/cmd/open', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/+/c', true],
    ['a/+/c', 'a/#', false],
    ['a/+', 'a/+/c', false],
    ['a/b', 'a/+', false],
    ['#', '#', true],
    ['#', '$SYS/#', false],
    ['$SYS/#', '$SYS/+/heartbeat', true],
  ])('%s covers %s -> %s', (allowed, requested, expected) => {
    expect(filterCovers(allowed, requested)).toBe(expected);
  });
});

describe('isValidFilter (§4.7.1)', () => {
  it.each([
    ['a/b', true],
    ['#', true],
    ['a/#', true],
    ['+/+/#', true],
    ['a/#/b', false],
    ['a#', false],
    ['a/b+', false],
    ['', false],
  ])('%s -> %s', (filter, expected) => {
    expect(isValidFilter(filter)).toBe(expected);
  });
});

describe('substituteUsername', () => {
  it('replaces every occurrence', () => {
    expect(substituteUsername('dev/{username}/x/{username}', 'bin-7')).toBe('dev/bin-7/x/bin-7');
  });
  it('leaves filters without the placeholder alone', () => {
    expect(substituteUsername('cg/#', '')).toBe('cg/#');
  });
  it('drops a filter when the name is empty or could act as a wildcard or level', () => {
    for (const name of ['', '#', '+', 'a/b', '$x'])
      expect(substituteUsername('dev/{username}/#', name)).toBe(undefined);
  });
});

describe('role defaults', () => {
  it('resolves {username}', () => {
    expect(effectiveFilters(device)).toEqual({ publish: ['dev/bin-7/#'], subscribe: ['dev/bin-7/cmd/#'] });
  });

  it('device: publishes only under its own subtree', () => {
    expect(canPublish(device, 'dev/bin-7/telemetry')).toBe(true);
    expect(canPublish(device, 'dev/bin-7')).toBe(true);
    expect(canPublish(device, 'dev/bin-8/telemetry')).toBe(false);
    expect(canPublish(device, 'dev/bin-77/telemetry')).toBe(false);
    expect(canPublish(device, 'cg/v1/site/gw/status')).toBe(false);
  });

  it('device: cannot publish commands to itself, even with its own filters', () => {
    expect(canPublish(device, 'dev/bin-7/cmd/open')).toBe(false);
    expect(canPublish(device, 'dev/bin-7/cmd')).toBe(false);
    expect(canPublish(device, 'dev/bin-7/cmdx')).toBe(true);
    expect(canPublish(device, 'dev/bin-7/status/cmd')).toBe(true);
    const custom: AclAccount = { username: 'bin-7', role: 'device', publish: ['dev/bin-7/#', 'dev/+/cmd/#'] };
    expect(canPublish(custom, 'dev/bin-7/cmd/open')).toBe(false);
    expect(canPublish(custom, 'dev/bin-8/cmd/open')).toBe(false);
    const reader: AclAccount = { username: 'tool', role: 'reader', publish: ['#'] };
    expect(canPublish(reader, 'dev/bin-7/cmd/open')).toBe(false);
  });

  it('device: subscribes only to its own commands', () => {
    expect(canSubscribe(device, 'dev/bin-7/cmd/#')).toBe(true);
    expect(canSubscribe(device, 'dev/bin-7/cmd/open')).toBe(true);
    expect(canSubscribe(device, 'dev/bin-7/#')).toBe(false);
    expect(canSubscribe(device, 'dev/#')).toBe(false);
    expect(canSubscribe(device, '#')).toBe(false);
    expect(canSubscribe(device, 'dev/+/cmd/#')).toBe(false);
  });

  it('reader: subscribes under cg/, publishes nothing', () => {
    expect(canSubscribe(reader, 'cg/v1/+/+/events/#')).toBe(true);
    expect(canSubscribe(reader, 'cg/#')).toBe(true);
    expect(canSubscribe(reader, '#')).toBe(false);
    expect(canSubscribe(reader, 'dev/#')).toBe(false);
    expect(canPublish(reader, 'cg/v1/x')).toBe(false);
  });

  it('reader: an explicit subscribe list replaces the default', () => {
    const city: AclAccount = { username: 'city', role: 'reader', subscribe: ['cg/v1/+/+/events/alarm/#'] };
    expect(canSubscribe(city, 'cg/v1/s/g/events/alarm/#')).toBe(true);
    expect(canSubscribe(city, 'cg/#')).toBe(false);
  });

  it('admin: everything except reserved $ topics and device command topics (commands go through the audited command path)', () => {
    expect(canPublish(admin, 'dev/bin-7/cmd/open')).toBe(false);
    expect(canPublish(admin, 'cg/v1/s/g/cmd/bin-7/open')).toBe(true);
    expect(canPublish(admin, 'dev/bin-7/telemetry')).toBe(true);
    expect(canSubscribe(admin, '#')).toBe(true);
    expect(canSubscribe(admin, '$SYS/#')).toBe(true);
    expect(canPublish(admin, '$SYS/x')).toBe(false);
  });

  it('anonymous (demo): reads cg/# only', () => {
    expect(canSubscribe(ANONYMOUS, 'cg/v1/+/+/events/#')).toBe(true);
    expect(canSubscribe(ANONYMOUS, '#')).toBe(false);
    expect(canPublish(ANONYMOUS, 'cg/v1/x')).toBe(false);
  });

  it('rejects malformed input', () => {
    expect(canPublish(admin, 'a/+')).toBe(false);
    expect(canPublish(admin, '')).toBe(false);
    expect(canSubscribe(admin, 'a/#/b')).toBe(false);
  });
});
