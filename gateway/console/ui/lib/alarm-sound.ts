/**
 * The alarm tone, generated with WebAudio (no sound file to download). Browsers start audio only
 * after a user gesture: `enableSound()` must run from a click (the "enable sound" prompt); a screen
 * whose browser allows autoplay (kiosk policy) is on at once.
 */
let ctx: AudioContext | undefined;

function context(): AudioContext | undefined {
  try {
    ctx ??= new AudioContext();
  } catch {
    return undefined;
  }
  return ctx;
}

export const soundOn = (): boolean => context()?.state === 'running';

/** From a click handler: starts audio and plays one tone so the user hears it works. */
export async function enableSound(): Promise<boolean> {
  const c = context();
  if (!c) return false;
  await c.resume().catch(() => undefined);
  if (c.state === 'running') beep();
  return c.state === 'running';
}

/** A two-tone alert (about 0.8 s). */
export function beep(): void {
  const c = context();
  if (!c || c.state !== 'running') return;
  const gain = c.createGain();
  gain.gain.value = 0.25;
  gain.connect(c.destination);
  [988, 740].forEach((f, i) => {
    const o = c.createOscillator();
    o.type = 'square';
    o.frequency.value = f;
    o.connect(gain);
    o.start(c.currentTime + i * 0.4);
    o.stop(c.currentTime + i * 0.4 + 0.35);
  });
}
