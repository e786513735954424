/**
 * The answers of the Device (tds), Media (trt) and PTZ (tptz) services of the simulated camera:
 * ONVIF Device Management, Media and PTZ Service Specifications, Profile S. One media profile
 * (H.264 640x360 at 15 fps) with a PTZ configuration and its presets.
 */
import { escapeXml, SoapError } from './soap.js';

export interface CameraIdentity {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
  hardwareId: string;
  /** The name in the onvif://www.onvif.org/name/ scope. */
  name: string;
  /** The location in the onvif://www.onvif.org/location/ scope. */
  location: string;
}

export interface PtzPreset {
  token: string;
  name: string;
  pan: number;
  tilt: number;
  zoom: number;
}

export interface ServiceContext {
  id: CameraIdentity;
  /** e.g. `http://127.0.0.1:8080`. */
  base: string;
  now: number;
  streamUri: string;
  presets: readonly PtzPreset[];
  currentPreset?: string;
}

export const PROFILE = 'Profile_1';
export const VIDEO_SOURCE = 'VideoSource_1';
export const VIDEO_SOURCE_CONFIG = 'VideoSourceConfig_1';
export const ANALYTICS_CONFIG = 'VideoAnalyticsConfig_1';
export const PATHS = {
  device: '/onvif/device_service',
  media: '/onvif/media_service',
  ptz: '/onvif/ptz_service',
  events: '/onvif/events_service',
  snapshot: '/onvif/snapshot.jpg',
  subscription: '/onvif/subscription/',
} as const;
const WIDTH = 640;
const HEIGHT = 360;
const FPS = 15;

export function scopes(id: CameraIdentity): string[] {
  return [
    'onvif://www.onvif.org/type/video_encoder',
    'onvif://www.onvif.org/type/ptz',
    'onvif://www.onvif.org/Profile/Streaming',
    'onvif://www.onvif.org/Profile/T',
    `onvif://www.onvif.org/name/${encodeURIComponent(id.name)}`,
    `onvif://www.onvif.org/hardware/${encodeURIComponent(id.hardwareId)}`,
    `onvif://www.onvif.org/location/${encodeURIComponent(id.location)}`,
  ];
}

function dateTime(ms: number): string {
  const d = new Date(ms);
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}

const videoSourceConfig = () =>
  `<tt:VideoSourceConfiguration token="${VIDEO_SOURCE_CONFIG}"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>1</tt:UseCount>` +
  `<tt:SourceToken>${VIDEO_SOURCE}</tt:SourceToken><tt:Bounds x="0" y="0" width="${WIDTH}" height="${HEIGHT}"/></tt:VideoSourceConfiguration>`;

const encoderConfig = () =>
  `<tt:VideoEncoderConfiguration token="VideoEncoderConfig_1"><tt:Name>VideoEncoderConfig</tt:Name><tt:UseCount>1</tt:UseCount>` +
  `<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${WIDTH}</tt:Width><tt:Height>${HEIGHT}</tt:Height></tt:Resolution>` +
  `<tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>${FPS}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval>` +
  `<tt:BitrateLimit>1024</tt:BitrateLimit></tt:RateControl><tt:H264><tt:GovLength>${FPS * 2}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>` +
  `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
  `<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>`;

const ptzConfig = () =>
  `<tt:PTZConfiguration token="PTZConfig_1"><tt:Name>PTZConfig</tt:Name><tt:UseCount>1</tt:UseCount><tt:NodeToken>PTZNode_1</tt:NodeToken>` +
  `<tt:DefaultAbsolutePantTiltPositionSpace>http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace</tt:DefaultAbsolutePantTiltPositionSpace>` +
  `<tt:DefaultAbsoluteZoomPositionSpace>http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace</tt:DefaultAbsoluteZoomPositionSpace>` +
  `<tt:DefaultPTZTimeout>PT5S</tt:DefaultPTZTimeout></tt:PTZConfiguration>`;

const position = (p: { pan: number; tilt: number; zoom: number }) =>
  `<tt:PanTilt x="${p.pan}" y="${p.tilt}" space="http://www.onvif.org/ver10/tptz/PanTiltSpaces/PositionGenericSpace"/>` +
  `<tt:Zoom x="${p.zoom}" space="http://www.onvif.org/ver10/tptz/ZoomSpaces/PositionGenericSpace"/>`;

const service = (ns: string, xaddr: string, major: number, minor: number) =>
  `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${xaddr}</tds:XAddr>` +
  `<tds:Version><tt:Major>${major}</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version></tds:Service>`;

const noToken = (what: string, token: string | undefined) =>
  new SoapError('env:Sender', ['ter:InvalidArgVal', 'ter:NoProfile'], `no ${what} "${token ?? ''}"; this camera has ${PROFILE}`);

export function checkProfile(token: string | undefined): void {
  if (token !== PROFILE) throw noToken('media profile', token);
}

/** Transports a GetStreamUri may ask for (ONVIF Media tt:TransportProtocol): one RTSP URI serves RTP over UDP and interleaved in RTSP/TCP. */
export const STREAM_PROTOCOLS = ['UDP', 'TCP', 'RTSP'];

/** GetStreamUri's StreamSetup/Transport/Protocol: absent or one of STREAM_PROTOCOLS; HTTP (RTSP tunnelled in HTTP) is not offered. */
export function checkStreamProtocol(protocol: string | undefined): void {
  if (protocol === undefined || STREAM_PROTOCOLS.includes(protocol)) return;
  throw new SoapError('env:Sender', ['ter:InvalidArgVal', 'ter:InvalidStreamSetup'],
    `StreamSetup/Transport/Protocol "${protocol}" is not offered; ask for ${STREAM_PROTOCOLS.join(', ')}`);
}

/** Answers of the operations that only read the camera's configuration; undefined when `action` is not one. */
export function readOnlyAnswer(action: string, c: ServiceContext): string | undefined {
  const x = (p: string) => `${c.base}${p}`;
  switch (action) {
    case 'GetSystemDateAndTime':
      return (
        `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType>` +
        `<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>` +
        `<tt:UTCDateTime>${dateTime(c.now)}</tt:UTCDateTime><tt:LocalDateTime>${dateTime(c.now)}</tt:LocalDateTime>` +
        `</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`
      );
    case 'GetDeviceInformation':
      return (
        `<tds:GetDeviceInformationResponse><tds:Manufacturer>${escapeXml(c.id.manufacturer)}</tds:Manufacturer>` +
        `<tds:Model>${escapeXml(c.id.model)}</tds:Model><tds:FirmwareVersion>${escapeXml(c.id.firmwareVersion)}</tds:FirmwareVersion>` +
        `<tds:SerialNumber>${escapeXml(c.id.serialNumber)}</tds:SerialNumber><tds:HardwareId>${escapeXml(c.id.hardwareId)}</tds:HardwareId>` +
        `</tds:GetDeviceInformationResponse>`
      );
    case 'GetCapabilities':
      return (
        `<tds:GetCapabilitiesResponse><tds:Capabilities>` +
        `<tt:Device><tt:XAddr>${x(PATHS.device)}</tt:XAddr><tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve>` +
        `<tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>` +
        `<tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>` +
        `<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System></tt:Device>` +
        `<tt:Events><tt:XAddr>${x(PATHS.events)}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>` +
        `<tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
        `<tt:Media><tt:XAddr>${x(PATHS.media)}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>` +
        `<tt:RTP_TCP>false</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
        `<tt:PTZ><tt:XAddr>${x(PATHS.ptz)}</tt:XAddr></tt:PTZ></tds:Capabilities></tds:GetCapabilitiesResponse>`
      );
    case 'GetServices':
      return (
        `<tds:GetServicesResponse>${service('http://www.onvif.org/ver10/device/wsdl', x(PATHS.device), 2, 60)}` +
        `${service('http://www.onvif.org/ver10/media/wsdl', x(PATHS.media), 2, 60)}` +
        `${service('http://www.onvif.org/ver10/events/wsdl', x(PATHS.events), 2, 60)}` +
        `${service('http://www.onvif.org/ver20/ptz/wsdl', x(PATHS.ptz), 2, 60)}</tds:GetServicesResponse>`
      );
    case 'GetScopes':
      return `<tds:GetScopesResponse>${scopes(c.id)
        .map((s) => `<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>${escapeXml(s)}</tt:ScopeItem></tds:Scopes>`)
        .join('')}</tds:GetScopesResponse>`;
    case 'GetNetworkInterfaces':
      return (
        `<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>` +
        `<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>02:00:00:00:00:01</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>` +
        `<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>${new URL(c.base).hostname}</tt:Address>` +
        `<tt:PrefixLength>8</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>` +
        `</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>`
      );
    case 'GetProfiles':
      return (
        `<trt:GetProfilesResponse><trt:Profiles token="${PROFILE}" fixed="true"><tt:Name>MainStream</tt:Name>` +
        `${videoSourceConfig()}${encoderConfig()}${ptzConfig()}</trt:Profiles></trt:GetProfilesResponse>`
      );
    case 'GetProfile':
      return (
        `<trt:GetProfileResponse><trt:Profile token="${PROFILE}" fixed="true"><tt:Name>MainStream</tt:Name>` +
        `${videoSourceConfig()}${encoderConfig()}${ptzConfig()}</trt:Profile></trt:GetProfileResponse>`
      );
    case 'GetVideoSources':
      return (
        `<trt:GetVideoSourcesResponse><trt:VideoSources token="${VIDEO_SOURCE}"><tt:Framerate>${FPS}</tt:Framerate>` +
        `<tt:Resolution><tt:Width>${WIDTH}</tt:Width><tt:Height>${HEIGHT}</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`
      );
    case 'GetVideoEncoderConfigurations':
      return `<trt:GetVideoEncoderConfigurationsResponse>${encoderConfig().replace(/tt:VideoEncoderConfiguration/g, 'trt:Configurations')}</trt:GetVideoEncoderConfigurationsResponse>`;
    case 'GetPresets':
      return `<tptz:GetPresetsResponse>${c.presets
        .map((p) => `<tptz:Preset token="${escapeXml(p.token)}"><tt:Name>${escapeXml(p.name)}</tt:Name><tt:PTZPosition>${position(p)}</tt:PTZPosition></tptz:Preset>`)
        .join('')}</tptz:GetPresetsResponse>`;
    case 'GetStatus': {
      const p = c.presets.find((q) => q.token === c.currentPreset) ?? { pan: 0, tilt: 0, zoom: 0 };
      return (
        `<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>${position(p)}</tt:Position>` +
        `<tt:MoveStatus><tt:PanTilt>IDLE</tt:PanTilt><tt:Zoom>IDLE</tt:Zoom></tt:MoveStatus>` +
        `<tt:UtcTime>${new Date(c.now).toISOString()}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>`
      );
    }
    case 'GetStreamUri':
      return mediaUri('GetStreamUriResponse', c.streamUri);
    case 'GetSnapshotUri':
      return mediaUri('GetSnapshotUriResponse', x(PATHS.snapshot));
    default:
      return undefined;
  }
}

const mediaUri = (tag: string, uri: string) =>
  `<trt:${tag}><trt:MediaUri><tt:Uri>${escapeXml(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
  `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${tag}>`;
