// Payload codec of the generic LoRaWAN smoke detector (model "generic-smoke"), written to the
// LoRaWAN Payload Codec API: decodeUplink({bytes, fPort, recvTime}) -> {data, warnings, errors}.
//
// Uplinks on fPort 10:
//   byte 0  frame type: 0x01 heartbeat, 0x02 smoke alarm, 0x03 alarm cleared, 0x04 silenced
//           (hush button), 0x05 self-test, 0x06 fault, 0x07 tamper (removed from its base)
//   byte 1  battery, percent (0..100; 0xFF: not measured)
//   byte 2  status flags: bit 0 smoke present, bit 1 battery low, bit 2 tamper, bit 3 fault
//   byte 3  heartbeat: temperature, signed °C; fault: fault code (1 smoke chamber dirty,
//           2 sounder, 3 sensor) - other frames have 3 bytes
var FRAME_TYPES = {
  0x01: 'heartbeat',
  0x02: 'alarm',
  0x03: 'alarm-cleared',
  0x04: 'silenced',
  0x05: 'test',
  0x06: 'fault',
  0x07: 'tamper',
};
var FAULTS = { 1: 'smoke-chamber-dirty', 2: 'sounder', 3: 'sensor' };

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the codec runner
function decodeUplink(input) {
  var bytes = input.bytes;
  if (input.fPort !== 10) return { errors: ['unexpected fPort ' + input.fPort + ' (the detector sends on 10)'] };
  if (bytes.length < 3) return { errors: ['payload too short: ' + bytes.length + ' bytes, at least 3 expected'] };
  var event = FRAME_TYPES[bytes[0]];
  if (!event) return { errors: ['unknown frame type 0x' + bytes[0].toString(16)] };
  var needs = event === 'heartbeat' || event === 'fault' ? 4 : 3;
  if (bytes.length < needs) {
    return { errors: ['payload too short for a ' + event + ' frame: ' + bytes.length + ' bytes, ' + needs + ' expected'] };
  }
  var warnings = [];
  if (bytes.length > needs) warnings.push(bytes.length - needs + ' trailing bytes ignored');
  var data = {
    event: event,
    smoke: (bytes[2] & 0x01) !== 0,
    batteryLow: (bytes[2] & 0x02) !== 0,
    tamper: (bytes[2] & 0x04) !== 0,
    fault: (bytes[2] & 0x08) !== 0,
  };
  if (bytes[1] !== 0xff) {
    if (bytes[1] > 100) return { errors: ['battery ' + bytes[1] + ' % is out of range 0..100'] };
    data.battery = bytes[1];
  }
  if (event === 'heartbeat') data.temperature = bytes[3] > 127 ? bytes[3] - 256 : bytes[3];
  if (event === 'fault') {
    data.faultCode = bytes[3];
    data.faultName = FAULTS[bytes[3]] || 'unknown';
  }
  return { data: data, warnings: warnings, errors: [] };
}
