/** The part of @cycjimmy/jsmpeg-player (JSMpeg, MIT) the console uses. */
declare module '@cycjimmy/jsmpeg-player' {
  export interface JSMpegSourceDest {
    write(data: ArrayBuffer): void;
  }
  export interface JSMpegPlayerOptions {
    canvas?: HTMLCanvasElement;
    audio?: boolean;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSMpeg constructs the source class itself
    source?: new (url: string, options: any) => unknown;
    [option: string]: unknown;
  }
  export class Player {
    constructor(url: string, options: JSMpegPlayerOptions);
    destroy(): void;
  }
  const JSMpeg: { Player: typeof Player };
  export default JSMpeg;
}
