/**
 * A camera's live picture: the gateway's WebSocket `/console/video/live/<camera>` (MPEG-1 in
 * MPEG-TS) decoded by JSMpeg into a canvas. The source below replaces JSMpeg's own WebSocket
 * source, which hides why the gateway closed the stream and reconnects blindly: it reports the
 * close code (4429 too many streams, 4502 no stream, 4001 session ended) and does not retry.
 */
import JSMpeg from '@cycjimmy/jsmpeg-player';
import { h } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from './i18n.js';

type Closed = (code: number, reason: string) => void;

class LiveSource {
  streaming = true;
  established = false;
  completed = false;
  progress = 0;
  private socket?: WebSocket;
  private dest?: { write(d: ArrayBuffer): void };
  constructor(
    private readonly url: string,
    private readonly options: { onClosed?: Closed; onData?: () => void },
  ) {}
  connect(dest: { write(d: ArrayBuffer): void }) {
    this.dest = dest;
  }
  start() {
    const ws = (this.socket = new WebSocket(this.url));
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      this.progress = 1;
    };
    ws.onmessage = (m) => {
      if (!this.established) this.options.onData?.();
      this.established = true;
      this.dest?.write(m.data as ArrayBuffer);
    };
    ws.onclose = (e) => this.options.onClosed?.(e.code, e.reason);
  }
  resume() {}
  destroy() {
    if (this.socket) this.socket.onclose = null;
    this.socket?.close();
  }
}

export const liveUrl = (cameraId: string): string =>
  `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/console/video/live/${encodeURIComponent(cameraId)}`;

/** Why the picture stopped, for people. */
export function closeText(code: number, reason: string): string {
  if (code === 4429) return t('live.tooMany', { reason });
  if (code === 4502) return t('live.noStream', { reason });
  if (code === 4001) return t('live.loggedOut');
  return t('live.lost', { code });
}

export function LiveView({ camera }: { camera: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [state, setState] = useState<{ playing: boolean; closed?: string }>({ playing: false });
  useEffect(() => {
    const player = new JSMpeg.Player(liveUrl(camera), {
      canvas: canvas.current!,
      audio: false,
      source: LiveSource,
      onData: () => setState({ playing: true }),
      onClosed: (code: number, reason: string) => setState({ playing: false, closed: closeText(code, reason) }),
    });
    return () => player.destroy();
  }, [camera]);
  return h(
    'div',
    { class: 'live', 'data-camera': camera, 'data-live': state.closed ? 'closed' : state.playing ? 'playing' : 'connecting' },
    h('canvas', { ref: canvas, width: 960, height: 540 }),
    state.closed ? h('p', { class: 'error', role: 'alert' }, state.closed) : !state.playing && h('p', null, t('live.connecting')),
  );
}
