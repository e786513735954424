/**
 * scripts/install-test-deps.sh --check: a peer counts as present only when it works the way the
 * tests use it. Only --check runs here (never apt-get). The fakes stand in for a broken machine:
 * CG_TEST_PYTHON / CG_TEST_MOSQUITTO point the check at them, and a reduced PATH hides programs.
 * The passing cases need the real peers on this machine (`bash scripts/install-test-deps.sh`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./install-test-deps.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cg-install-test-deps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the check with bash by absolute path, so PATH may be anything. */
function check(env: Record<string, string | undefined>): { status: number | null; stderr: string; stdout: string } {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base.CG_TEST_PYTHON;
  delete base.CG_TEST_MOSQUITTO;
  const r = spawnSync('/bin/bash', [SCRIPT, '--check'], {
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Writes an executable shell script into the temp dir. */
function fake(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A python3 whose `import pymodbus` works but whose `from pymodbus.xxx import ...` stops at `module`. */
function fakePython(name: string, module: string): string {
  return fake(
    name,
    `case "$2" in
  "import pymodbus") exit 0 ;;
  *"from pymodbus."*)
    echo 'Traceback (most recent call last):' >&2
    echo '  File "<string>", line 2, in <module>' >&2
    echo "ModuleNotFoundError: No module named '${module}'" >&2
    exit 1 ;;
esac
exit 1`,
  );
}

/** Absolute path of a program on this machine's PATH (or /usr/sbin). */
function locate(program: string): string {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin']) {
    if (d && existsSync(join(d, program))) return join(d, program);
  }
  throw new Error(`${program} is not installed here: run bash scripts/install-test-deps.sh`);
}

describe('install-test-deps.sh --check', () => {
  it('passes silently on this machine, with the real /usr/bin/python3 (not the first python3 on PATH)', () => {
    // A broken python3 first on PATH must not matter: the tests spawn /usr/bin/python3.
    const pathDir = join(dir, 'path-python');
    mkdirSync(pathDir);
    writeFileSync(join(pathDir, 'python3'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(pathDir, 'python3'), 0o755);

    const r = check({ PATH: `${pathDir}${delimiter}${process.env.PATH ?? ''}` });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('fails naming pymodbus and python3-serial when `import pymodbus` works but pymodbus.server needs serial', () => {
    const py = fakePython('python3-no-serial', 'serial');
    // The situation that used to pass: the bare import succeeds.
    expect(spawnSync(py, ['-c', 'import pymodbus']).status).toBe(0);

    const r = check({ CG_TEST_PYTHON: py });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing test peer pymodbus: install Debian package python3-serial\b/);
    expect(r.stderr).toContain("No module named 'serial'");
    expect(r.stderr).toContain(py);
    // Only that peer: everything else is present here.
    expect(r.stderr).not.toMatch(/missing test peer (mosquitto|mbpoll|socat|openssl)/);
  });

  it.each([
    ['serial_asyncio', 'python3-serial-asyncio'],
    ['pymodbus', 'python3-pymodbus'],
  ])('names the Debian package of the module the import stops at (%s -> %s)', (module, pkg) => {
    const r = check({ CG_TEST_PYTHON: fakePython(`python3-no-${module}`, module) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`missing test peer pymodbus: install Debian package ${pkg} `);
  });

  it('fails naming python3 when the interpreter does not exist', () => {
    const r = check({ CG_TEST_PYTHON: join(dir, 'no-such-python3') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /missing test peer pymodbus: install Debian package python3 \(.*no-such-python3 not found/,
    );
  });

  it('fails naming mosquitto when the broker binary the tests spawn is absent', () => {
    const r = check({ CG_TEST_MOSQUITTO: join(dir, 'sbin', 'mosquitto') });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing test peer mosquitto: install Debian package mosquitto \(.*not found\)/);
    expect(r.stderr).not.toMatch(/missing test peer (pymodbus|mbpoll|socat|openssl)/);
  });

  it('fails naming mosquitto when the broker binary exists but does not run', () => {
    const broken = fake(
      'mosquitto-broken',
      'echo "mosquitto: error while loading shared libraries: libwebsockets.so.16: cannot open shared object" >&2\n' +
        'exit 127',
    );
    const r = check({ CG_TEST_MOSQUITTO: broken });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing test peer mosquitto: install Debian package mosquitto \(.*libwebsockets/);
  });

  it('fails naming mbpoll (and only mbpoll) when it is not on PATH', () => {
    // A PATH with every other program the tests spawn, but no mbpoll.
    const bin = join(dir, 'bin-without-mbpoll');
    mkdirSync(bin);
    for (const program of ['socat', 'openssl', 'mosquitto_passwd', 'mosquitto_pub', 'curl', 'ffmpeg', 'ffprobe', 'onvif-util', 'ip', 'systemd-analyze', 'chromium'])
      symlinkSync(locate(program), join(bin, program));

    const r = check({ PATH: bin });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing test peer mbpoll: install Debian package mbpoll \(mbpoll not on PATH\)/);
    expect(r.stderr.match(/missing test peer/g)).toHaveLength(1);
  });

  it('fails naming socat, openssl, mosquitto_passwd, mosquitto_pub and curl when PATH has none of them', () => {
    const r = check({ PATH: join(dir, 'empty') });
    expect(r.status).toBe(1);
    for (const [peer, pkg] of [
      ['mosquitto_passwd', 'mosquitto'],
      ['mosquitto_pub', 'mosquitto-clients'],
      ['curl', 'curl'],
      ['mbpoll', 'mbpoll'],
      ['socat', 'socat'],
      ['openssl', 'openssl'],
      ['ffmpeg', 'ffmpeg'],
      ['ffprobe', 'ffmpeg'],
      ['onvif-util', 'onvif-tools'],
      ['ip', 'iproute2'],
      ['systemd-analyze', 'systemd'],
      ['chromium', 'chromium'],
    ]) {
      expect(r.stderr).toContain(`missing test peer ${peer}: install Debian package ${pkg} `);
    }
  });

  it("fails naming GStreamer's RTSP server when the interpreter cannot load it", () => {
    const py = fake('python3-no-gi', `case "$2" in *GstRtspServer*) echo "ModuleNotFoundError: No module named 'gi'" >&2; exit 1 ;; esac\nexit 0`);
    const r = check({ CG_TEST_PYTHON: py });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/missing test peer gst-rtsp-server: install Debian package gir1.2-gst-rtsp-server-1.0 \(.*No module named 'gi'/);
    expect(r.stderr.match(/missing test peer/g)).toHaveLength(1);
  });
});
