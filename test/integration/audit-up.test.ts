// `timonel up --audit-log` writes an audit log in its data dir: one audit.k8s.io/v1 Event per request, as JSON lines.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { removeTempDataDir, spawnServer, tempDataDir } from '../helpers/cluster.js';

interface AuditEvent {
  kind: string;
  apiVersion: string;
  level: string;
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code: number };
  requestObject?: unknown;
}

describe('timonel up audit log', () => {
  it('records who did what, with request bodies for writes but never Secret contents', async () => {
    const dataDir = tempDataDir('timonel-audit-');
    try {
      const server = await spawnServer(['--data-dir', dataDir, '--audit-log']);
      try {
        await server.kubectlOk(['create', 'configmap', 'audited', '--from-literal=k=v']);
        await server.kubectlOk(['create', 'secret', 'generic', 'hidden', '--from-literal=password=never-in-the-audit-log']);
        await server.kubectl(['get', 'configmap', 'missing']);
      } finally {
        server.kill('SIGTERM');
        await server.waitExit();
      }
      const file = join(dataDir, 'audit', 'audit.log');
      assert.ok(existsSync(file));
      const text = readFileSync(file, 'utf8');
      const events = text.trim().split('\n').map((l) => JSON.parse(l) as AuditEvent);
      assert.ok(events.every((e) => e.kind === 'Event' && e.apiVersion === 'audit.k8s.io/v1'));
      const create = events.find((e) => e.verb === 'create' && e.objectRef?.resource === 'configmaps' && e.user.username === 'admin' && e.stage === 'ResponseComplete');
      assert.ok(create, 'the admin create of a ConfigMap is there');
      assert.equal(create?.responseStatus?.code, 201);
      assert.equal(create?.objectRef?.namespace, 'default');
      const secret = events.find((e) => e.verb === 'create' && e.objectRef?.resource === 'secrets' && e.user.username === 'admin');
      assert.equal(secret?.level, 'Metadata');
      assert.equal(secret?.responseStatus?.code, 201);
      assert.equal(secret?.requestObject, undefined);
      assert.ok(!text.includes('never-in-the-audit-log') && !text.includes(Buffer.from('never-in-the-audit-log').toString('base64')));
      const missing = events.find((e) => e.verb === 'get' && e.objectRef?.name === 'missing');
      assert.equal(missing?.responseStatus?.code, 404);
    } finally {
      removeTempDataDir(dataDir);
    }
  });
});
