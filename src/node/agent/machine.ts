// What the node agent reports about the machine it runs on: capacity, addresses and nodeInfo.
import { readFileSync, statfsSync } from 'node:fs';
import { cpus, hostname, networkInterfaces, release } from 'node:os';
import type { NodeAddress, NodeSystemInfo } from 'kubernetes-types/core/v1.js';
import { KUBELET_VERSION } from '../simulated/objects.js';

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The machine's hostname as a node name (lower case, as the kubelet does). */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/** MemTotal of /proc/meminfo as a quantity in Ki. */
export function memoryCapacity(): string {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(readText('/proc/meminfo') ?? '');
  return m ? `${m[1]}Ki` : '0';
}

/** Total bytes of the file system holding `dir`, as a quantity in Ki. */
export function ephemeralStorageCapacity(dir: string): string {
  try {
    const s = statfsSync(dir);
    return `${Math.floor((Number(s.blocks) * Number(s.bsize)) / 1024)}Ki`;
  } catch {
    return '0';
  }
}

export function machineCapacity(stateDir: string): Record<string, string> {
  return {
    cpu: String(cpus().length || 1),
    memory: memoryCapacity(),
    pods: '110',
    'ephemeral-storage': ephemeralStorageCapacity(stateDir),
  };
}

/** The first non-internal IPv4 address (the node's InternalIP), else 127.0.0.1. */
export function primaryIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function nodeAddresses(nodeName: string, ip: string): NodeAddress[] {
  return [
    { type: 'InternalIP', address: ip },
    { type: 'Hostname', address: nodeName },
  ];
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readText('/etc/os-release') ?? '');
  return m ? m[1]! : 'Linux';
}

const uuidOf = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

export function nodeSystemInfo(runtimeVersion: string): NodeSystemInfo {
  const machineID = (readText('/etc/machine-id') ?? '').trim() || '0'.repeat(32);
  const productUUID = (readText('/sys/class/dmi/id/product_uuid') ?? '').trim().toLowerCase();
  return {
    machineID,
    systemUUID: productUUID || uuidOf(machineID.padEnd(32, '0')),
    bootID: (readText('/proc/sys/kernel/random/boot_id') ?? '').trim(),
    kernelVersion: release(),
    osImage: osImage(),
    containerRuntimeVersion: runtimeVersion,
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: '',
    operatingSystem: 'linux',
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
  };
}
