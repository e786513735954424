/** Types of the part of node-rtsp-stream the live view uses (the package ships none). */
declare module 'node-rtsp-stream/mpeg1muxer.js' {
  import type { ChildProcessWithoutNullStreams } from 'node:child_process';
  import { EventEmitter } from 'node:events';

  interface Mpeg1MuxerOptions {
    url: string;
    ffmpegPath: string;
    /** Flags placed after `-i <url> -f mpegts -codec:v mpeg1video`, in order; '' = a flag without value. */
    ffmpegOptions?: Record<string, string | number>;
  }

  /** Spawns ffmpeg at once; emits `mpeg1data` (Buffer), `ffmpegStderr` (Buffer), `exitWithError` (exit code 1 only). */
  class Mpeg1Muxer extends EventEmitter {
    constructor(options: Mpeg1MuxerOptions);
    readonly stream: ChildProcessWithoutNullStreams;
    readonly spawnOptions: string[];
  }
  export = Mpeg1Muxer;
}
