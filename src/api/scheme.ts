// The registry of kinds the API serves: looked up by URL (group/version/resource) or by kind.
import { apiVersionOf, type KindInfo } from './types.js';

export class Scheme {
  private readonly byResource = new Map<string, KindInfo>();
  private readonly byKind = new Map<string, KindInfo>();
  private readonly all: KindInfo[] = [];

  register(...infos: KindInfo<any>[]): this {  // eslint-disable-line @typescript-eslint/no-explicit-any -- each kind has its own object type
    for (const info of infos as unknown as KindInfo[]) {
      const rkey = `${info.group}/${info.version}/${info.resource}`;
      if (this.byResource.has(rkey)) throw new Error(`kind registered twice: ${rkey}`);
      this.byResource.set(rkey, info);
      this.byKind.set(`${apiVersionOf(info)}/${info.kind}`, info);
      this.all.push(info);
    }
    return this;
  }

  unregister(group: string, version: string, resource: string): void {
    const info = this.byResource.get(`${group}/${version}/${resource}`);
    if (!info) return;
    this.byResource.delete(`${group}/${version}/${resource}`);
    this.byKind.delete(`${apiVersionOf(info)}/${info.kind}`);
    this.all.splice(this.all.indexOf(info), 1);
  }

  lookup(group: string, version: string, resource: string): KindInfo | undefined {
    return this.byResource.get(`${group}/${version}/${resource}`);
  }

  lookupKind(apiVersion: string, kind: string): KindInfo | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  kinds(): readonly KindInfo[] {
    return this.all;
  }

  /** group → versions served, in registration order (preferred first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const k of this.all) {
      const vs = out.get(k.group) ?? [];
      if (!vs.includes(k.version)) vs.push(k.version);
      out.set(k.group, vs);
    }
    return out;
  }
}
