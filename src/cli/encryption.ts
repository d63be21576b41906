// Encryption at rest for the data dir: the EncryptionConfiguration file (generated on first start), and
// `timonel secrets rotate`, which writes with a new key from then on and re-encrypts what is stored.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import { ValueTransformer, type EncryptionConfiguration } from '../storage/encryption.js';
import { SqliteStore } from '../storage/sqlite.js';

export const ENCRYPTION_CONFIG_FILE = 'encryption-config.yaml';

export function readEncryptionConfig(file: string): EncryptionConfiguration {
  let cfg: unknown;
  try {
    cfg = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`encryption config ${file}: ${(e as Error).message}`);
  }
  return cfg as EncryptionConfiguration;
}

function writeSecretFile(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * The transformer for a data dir: `file` when given (a user's EncryptionConfiguration), else
 * `<data-dir>/encryption-config.yaml`, created with a fresh AES-GCM key for Secrets on first start.
 */
export function dataDirEncryption(dataDir: string, file?: string): ValueTransformer {
  const path = file ?? join(dataDir, ENCRYPTION_CONFIG_FILE);
  if (!file && !existsSync(path)) writeSecretFile(path, stringify(ValueTransformer.generateConfiguration()));
  try {
    return ValueTransformer.fromConfiguration(readEncryptionConfig(path));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

const ROTATE_USAGE = `Usage: timonel secrets rotate [--data-dir DIR]

Adds a new AES-GCM key in front of <data-dir>/${ENCRYPTION_CONFIG_FILE} (older keys stay readable) and
re-encrypts every stored Secret, history included, with it. Run it while the server is stopped.
`;

export async function runSecretsCommand(argv: string[], defaultDataDir: string): Promise<void> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (sub !== 'rotate' || values.help) {
    process.stdout.write(ROTATE_USAGE);
    if (sub !== 'rotate' && !values.help) process.exitCode = 2;
    return;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir;
  const configPath = join(dataDir, ENCRYPTION_CONFIG_FILE);
  const dbPath = join(dataDir, 'state.db');
  if (!existsSync(dbPath)) throw new Error(`no cluster state in ${dataDir}`);
  const current = dataDirEncryption(dataDir);
  const { cfg, keyName } = ValueTransformer.rotateConfiguration(readEncryptionConfig(configPath));
  const next = ValueTransformer.fromConfiguration(cfg);
  let store: SqliteStore;
  try {
    store = SqliteStore.open(dbPath, { valueTransformer: current });
  } catch (e) {
    throw new Error(`cannot open ${dbPath} (is timonel up still running?): ${(e as Error).message}`);
  }
  try {
    // the new key must be on disk before any value depends on it
    writeSecretFile(configPath, stringify(cfg));
    const n = store.reencrypt(next, next.prefixes());
    process.stdout.write(`secrets now encrypted with ${keyName}: ${n} stored values rewritten\n`);
  } finally {
    await store.close();
  }
}
