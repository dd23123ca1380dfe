/**
 * Frames as moby/spdystream's Go framer writes them (spdy/write.go with Go 1.19's compress/zlib at BestCompression
 * and the SPDY/3 dictionary), captured once from a small Go program that called `Framer.WriteFrame` on the frames
 * described beside each vector. The client's frames share one compression context, in this order; the server's
 * two SYN_REPLYs share another. Test data only.
 * @module
 */

/** A frame written by Go, as hex. */
export interface GoVector {
  /** What was written (Go field values). */
  description: string;
  hex: string;
}

/** A client framer's output, in order (one header-compression context). */
export const CLIENT_FRAMES = {
  synStreamError: {
    description: 'SynStreamFrame{StreamId: 1, Headers: {"Streamtype": ["error"]}}',
    hex: "80030001000000290000000100000000000078f9e3c6a7c26260606004a7b392a2d4c45c6851c29a0a0a6800000000ffff",
  },
  synStreamStdin: {
    description: 'SynStreamFrame{StreamId: 3, Headers: {"Streamtype": ["stdin"]}}',
    hex: "800300010000001700000003000000000000c22e555c92929907000000ffff",
  },
  synStreamFinPriority: {
    description: 'SynStreamFrame{StreamId: 5, Priority: 7, Flags: FIN, Headers: {"Streamtype": ["stdout"]}}',
    hex: "80030001010000190000000500000000e000c22ac5565c92925f5a02000000ffff",
  },
  synStreamMultiValue: {
    description: 'SynStreamFrame{StreamId: 7, Headers: {"Port": ["8080", "9090"]}}',
    hex: "80030001000000220000000700000000000082cab114e41781523fa78581850183a581a501000000ffff",
  },
  headersEmpty: {
    description: "HeadersFrame{StreamId: 7, Headers: {}}",
    hex: "800300080000000e000000076260606000000000ffff",
  },
  data: { description: 'DataFrame{StreamId: 3, Data: "hello"}', hex: "000000030000000568656c6c6f" },
  dataFinEmpty: { description: "DataFrame{StreamId: 3, Flags: FIN, Data: {}}", hex: "0000000301000000" },
  rstCancel: { description: "RstStreamFrame{StreamId: 5, Status: Cancel}", hex: "80030003000000080000000500000005" },
  ping: { description: "PingFrame{Id: 1}", hex: "800300060000000400000001" },
  goAway: {
    description: "GoAwayFrame{LastGoodStreamId: 7, Status: GoAwayOK}",
    hex: "80030007000000080000000700000000",
  },
  settings: {
    description:
      "SettingsFrame{{Flag: PersistValue, Id: InitialWindowSize, Value: 65536}, {Id: MaxConcurrentStreams, Value: 100}}",
    hex: "80030004000000140000000201000007000100000000000400000064",
  },
  windowUpdate: {
    description: "WindowUpdateFrame{StreamId: 3, DeltaWindowSize: 32768}",
    hex: "80030009000000080000000300008000",
  },
} satisfies Record<string, GoVector>;

/** A server framer's output, in order (its own compression context). */
export const SERVER_FRAMES = {
  synReply1: {
    description: "SynReplyFrame{StreamId: 1, Headers: {}}",
    hex: "80030002000000140000000178f9e3c6a7c26260606000000000ffff",
  },
  synReply3: {
    description: "SynReplyFrame{StreamId: 3, Headers: {}}",
    hex: "800300020000000c00000003026100000000ffff",
  },
} satisfies Record<string, GoVector>;

/** Decodes a vector's hex. */
export function bytesOf(vector: GoVector): Uint8Array {
  return Uint8Array.from(vector.hex.match(/../g)!.map((byte) => parseInt(byte, 16)));
}
