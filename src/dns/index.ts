// The built-in cluster DNS server.
export { startClusterDNS, type ClusterDNS, type ClusterDNSOptions, type ListenAddress } from './server.js';
export { clusterDNSResolvConf, hostNameservers, parseResolvConf, type ResolvConf } from './resolvconf.js';
export { ClusterZone, DNS_SCHEMA_VERSION, ipFromReverseName, reverseName } from './records.js';
