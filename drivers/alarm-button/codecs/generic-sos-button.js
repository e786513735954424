// Payload codec of the generic LoRaWAN SOS button (model "generic-sos-button"), written to the
// LoRaWAN Payload Codec API: decodeUplink({bytes, fPort, recvTime}) -> {data, warnings, errors}.
//
// Uplinks on fPort 12, 4 bytes:
//   byte 0  frame type: 0x01 heartbeat, 0x10 pressed (emergency), 0x11 long press (held 3 s),
//           0x12 cancelled (double press within 30 s of an emergency)
//   byte 1  battery, percent (0..100)
//   byte 2  flags: bit 0 battery low
//   byte 3  press counter (counts every press since the battery was fitted, wraps at 256)
var FRAME_TYPES = { 0x01: 'heartbeat', 0x10: 'press', 0x11: 'long-press', 0x12: 'cancel' };

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the codec runner
function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort !== 12) return { errors: ['unexpected fPort ' + input.fPort + ' (the button sends on 12)'] };
  if (bytes.length < 4) return { errors: ['payload too short: ' + bytes.length + ' bytes, 4 expected'] };
  var event = FRAME_TYPES[bytes[0]];
  if (!event) return { errors: ['unknown frame type 0x' + bytes[0].toString(16)] };
  if (bytes[1] > 100) return { errors: ['battery ' + bytes[1] + ' % is out of range 0..100'] };
  var warnings = bytes.length > 4 ? [bytes.length - 4 + ' trailing bytes ignored'] : [];
  return {
    data: { event: event, battery: bytes[1], batteryLow: (bytes[2] & 0x01) !== 0, presses: bytes[3] },
    warnings: warnings,
    errors: [],
  };
}
