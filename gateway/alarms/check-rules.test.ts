import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { DEFINITIONS } from '../../drivers/index.js';
import { gasDetector } from '../../drivers/gas-detector/index.js';
import { GENERIC_EVENT_TYPES } from '../core/gateway-events.js';
import { builtinRules } from './builtin-rules.js';
import { AlarmsConfig, Rule } from '../core/rule-schema.js';
import { NotifyConfig } from '../notify/notify-schema.js';
import { checkAlarmConfig, personalInMessage } from './check-rules.js';
import { gateFamily } from './testing/families.js';
import { isEventArg, selectorFamilies, typePatterns } from './match.js';
import { effectiveRules } from './rule-set.js';

const SITE = `
site: { id: test-site }
gateway: { id: gw-01 }
drivers:
  - family: gas-detector
    id: gas-a
    transport: { type: tcp, host: 127.0.0.1, port: 15020 }
    devices:
      - { id: gas-1, unitId: 1, building: B1, tags: [valve] }
`;

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rules-')), 'site.yaml');
  writeFileSync(file, text);
  return file;
}

function checkConfig(file: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'gateway/cli.ts', 'check-config', file], {
    encoding: 'utf8',
  });
}

describe('gateway check-config on alarm rules', () => {
  it('rejects an unknown family, a bad duration and an action the family cannot perform, each with its path', () => {
    const file = writeTemp(`${SITE}
rules:
  - id: smoke-in-b1
    severity: critical
    match: { type: smoke.alarm, devices: { family: smoke-detektor } }
  - id: slow-gas
    severity: major
    match: { type: gas.alarm.low, devices: { family: gas-detector } }
    for: 30 seconds
  - id: open-gates-on-gas
    severity: critical
    match: { type: gas.alarm.high, devices: { family: gas-detector } }
    actions:
      - command: door.hold-open
notify:
  tiers:
    - { name: duty, channels: [duty-sms] }
`);
    const r = checkConfig(file);
    expect(r.status).toBe(2);
    // zod runs first: the duration is reported by itself, with path and line.
    expect(r.stderr).toMatch(/rules\[1\]\.for \(line \d+\): not a duration/);
  });

  it('reports registry problems with their paths once the file parses', () => {
    const file = writeTemp(`${SITE}
rules:
  - id: smoke-in-b1
    severity: critical
    match: { type: smoke.alarm, devices: { family: smoke-detektor } }
  - id: open-gates-on-gas
    severity: critical
    match: { type: gas.alarm.high, devices: { family: gas-detector } }
    actions:
      - command: door.hold-open
  - id: typo-type
    severity: major
    match: { type: gas.alarm.hihg, devices: { family: gas-detector } }
  - id: valve-bad-args
    severity: major
    match: { type: gas.alarm.high, devices: { family: gas-detector } }
    actions:
      - { command: valve.close, args: { force: true } }
alarms:
  disable: [gas-hihg]
notify:
  tiers:
    - { name: duty, channels: [duty-sms] }
`);
    const r = checkConfig(file);
    expect(r.status).toBe(2);
    const err = r.stderr;
    expect(err).toMatch(
      /rules\[0\]\.match\.devices\.family \(line 14\): unknown family "smoke-detektor"; known families: gas-detector/,
    );
    expect(err).toMatch(
      /rules\[1\]\.actions\[0\]\.command \(line 19\): a gas-detector cannot perform "door\.hold-open" \(its commands: valve\.close, valve\.open\)/,
    );
    expect(err).not.toMatch(/never emits "smoke\.alarm"/); // its family is already reported
    expect(err).toMatch(
      /rules\[2\]\.match\.type \(line \d+\): a gas-detector never emits "gas\.alarm\.hihg"/,
    );
    expect(err).toMatch(/alarms\.disable\[0\] \(line \d+\): no built-in rule "gas-hihg"/);
    expect(err).toMatch(/notify\.tiers\[0\]\.channels\[0\] \(line \d+\): no channel "duty-sms"/);
  });

  it('accepts the example compound (with its rules and notification settings)', () => {
    const r = checkConfig('config/examples/demo-compound.yaml');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('built-in rule set', () => {
  it('is valid: each action is a command, with good arguments, of every registered family it targets; each match type is emitted', () => {
    const rules = effectiveRules({ builtinRules: true, disable: [], maintenance: [] }, [], DEFINITIONS);
    expect(rules.map((r) => r.rule.id)).toEqual(
      expect.arrayContaining(['gas-high', 'gas-low', 'gas-fault', 'life-safety-offline']),
    );
    const byFamily = new Map(DEFINITIONS.map((f) => [f.family, f]));
    const emitted = new Set([...GENERIC_EVENT_TYPES, ...DEFINITIONS.flatMap((f) => Object.keys(f.events))]);
    for (const r of rules) {
      for (const a of r.rule.actions) {
        const families = selectorFamilies(a.target.devices) ?? selectorFamilies(r.rule.match.devices) ?? [];
        expect(families.length, `${r.rule.id}: ${a.command} names its family`).toBeGreaterThan(0);
        for (const f of families) {
          const def = byFamily.get(f);
          if (!def) continue; // not registered (yet): the action has no targets
          const schema = def.commands[a.command] as z.ZodType | undefined;
          expect(schema, `${r.rule.id}: a ${f} performs ${a.command}`).toBeDefined();
          // An argument taken from the event (`{data.port}`) must name a field of the matched event types' data
          // (`{device.id}` and the like are the alarm device's own fields).
          const fromEvent = Object.entries(a.args).filter(([, v]) => isEventArg(v));
          for (const [, v] of fromEvent.filter(([, v]) => String(v).startsWith('{data.'))) {
            const key = String(v).slice('{data.'.length, -1).split('.')[0]!;
            for (const type of typePatterns(r.rule.match.type)) {
              const spec = DEFINITIONS.find((d) => Object.hasOwn(d.events, type))?.events[type];
              const shape = (spec?.data as { shape?: Record<string, unknown> } | undefined)?.shape;
              expect(shape && Object.hasOwn(shape, key), `${r.rule.id}: ${type} data has "${key}"`).toBe(true);
            }
          }
          const parsed = schema?.safeParse(a.args);
          const issues = parsed?.success ? [] : (parsed?.error.issues ?? []).filter((x) => !fromEvent.some(([k]) => k === x.path[0]));
          expect(issues, `${r.rule.id}: ${a.command} arguments`).toEqual([]);
        }
      }
      for (const t of r.types) expect(emitted, `${r.rule.id}: ${t}`).toContain(t);
      expect(personalInMessage(r.rule, DEFINITIONS), `${r.rule.id}: message`).toBeUndefined();
    }
  });

  it('a message showing personal data to the city is reported, unless the site sends it in full', () => {
    const rule = Rule.parse({
      id: 'badge-at-night',
      severity: 'warning',
      message: '夜间刷卡：{data.name}（卡号 {data.cardNo}）{device.id}',
      match: { type: 'access.granted', devices: { family: 'access-gate' } },
    });
    const cfg = { rules: [rule], alarms: AlarmsConfig.parse({}), notify: NotifyConfig.parse({}) };
    expect(checkAlarmConfig({ ...cfg, privacy: { personalData: 'masked' } }, [gateFamily])).toEqual([
      {
        rawPath: ['rules', 0, 'message'],
        message: expect.stringMatching(/^shows "name", which identifies a person \(access-gate access\.granted\): alarm messages reach the city as written/),
      },
    ]);
    expect(checkAlarmConfig({ ...cfg, privacy: { personalData: 'full' } }, [gateFamily])).toEqual([]);
  });

  it('a site overrides a built-in by id and disables others', () => {
    const mine = Rule.parse({
      id: 'gas-low',
      severity: 'critical',
      match: { type: 'gas.alarm.low' },
      escalate: false,
    });
    const rules = effectiveRules(
      { builtinRules: true, disable: ['gas-fault'], maintenance: [] },
      [mine],
      [gasDetector],
    );
    expect(rules.map((r) => [r.rule.id, r.builtin])).toEqual([
      ['gas-high', true],
      ['life-safety-offline', true],
      ['gas-low', false],
    ]);
    expect(effectiveRules({ builtinRules: false, disable: [], maintenance: [] }, [], DEFINITIONS)).toEqual([]);
    expect(builtinRules(DEFINITIONS).every((r) => Rule.safeParse(r).success)).toBe(true);
  });
});
