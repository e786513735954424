/** The site file's `video:` section: live view of the cameras on the ops server. */
import { z } from 'zod';

export const VideoConfig = z
  .strictObject({
    /**
     * Camera streams transcoded at once (one ffmpeg each, however many people watch it). Each
     * costs about one CPU core at 960 px; a viewer of another camera past it is turned away.
     */
    maxStreams: z.number().int().min(1).max(32).default(4),
    /** Width of the picture sent to browsers, at most (narrower cameras keep theirs). */
    maxWidth: z.number().int().min(160).max(1920).default(960),
    /** MPEG-1 video bit rate per stream, kbit/s. */
    bitrateKbps: z.number().int().min(100).max(8000).default(1000),
    /** The ffmpeg program. */
    ffmpegPath: z.string().min(1).default('ffmpeg'),
  })
  .describe('Live view of the cameras for logged-in console staff (MPEG-1 over WebSocket, JSMpeg)');
export type VideoConfig = z.infer<typeof VideoConfig>;
