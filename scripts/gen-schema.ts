// Writes src/api/schema/builtin.ts: the facts (field names, field types, required fields) of every
// type reachable from the kinds Timonel serves, read from the TypeScript declarations of the npm
// package `kubernetes-types` (itself generated from upstream's OpenAPI). No descriptions are copied.
//
//   node --import tsx scripts/gen-schema.ts           write the file
//   node --import tsx scripts/gen-schema.ts --check   exit 1 when the file is out of date
//   node --import tsx scripts/gen-schema.ts --stdout  print the file instead of writing it
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { builtinScheme } from '../src/api/kinds/index.js';
import type { SchemaFacts, TypeFacts } from '../src/api/schema/facts.js';
import { apiVersionOf } from '../src/api/types.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const typesRoot = join(repoRoot, 'node_modules', 'kubernetes-types');
const outFile = join(repoRoot, 'src', 'api', 'schema', 'builtin.ts');

/** kubernetes-types module (path without .d.ts) → the Go package prefix upstream's OpenAPI names use. */
function packagePrefix(module: string): string {
  switch (module) {
    case 'meta/v1':
      return 'io.k8s.apimachinery.pkg.apis.meta.v1';
    case 'api/resource':
      return 'io.k8s.apimachinery.pkg.api.resource';
    case 'runtime':
      return 'io.k8s.apimachinery.pkg.runtime';
    case 'version':
      return 'io.k8s.apimachinery.pkg.version';
    case 'apiextensions/v1':
      return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
    default:
      return `io.k8s.api.${module.replace(/\//g, '.')}`;
  }
}

/** Aliases of `string` that upstream's OpenAPI names as their own definitions. */
const NAMED_STRINGS: Record<string, string> = {
  'io.k8s.apimachinery.pkg.api.resource.Quantity': 'Quantity',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': 'Time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': 'MicroTime',
};

/**
 * kubernetes-types writes every OpenAPI integer and number as `number`. The served kinds have no
 * float fields; a field listed here is a `number` (format double) instead of an integer.
 */
const FLOAT_FIELDS = new Set<string>([
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.maximum',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.minimum',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.multipleOf',
]);

/** Fields upstream's OpenAPI has that kubernetes-types leaves out (the vendor extensions of CRD schemas). */
const EXTRA_FIELDS: Record<string, Record<string, string>> = {
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps': {
    'x-kubernetes-embedded-resource': 'boolean',
    'x-kubernetes-int-or-string': 'boolean',
    'x-kubernetes-list-map-keys': '[]string',
    'x-kubernetes-list-type': 'string',
    'x-kubernetes-map-type': 'string',
    'x-kubernetes-preserve-unknown-fields': 'boolean',
    'x-kubernetes-validations': '[]object',
  },
  // kubernetes-types drops the fields RuleWithOperations inlines from Rule
  'io.k8s.api.admissionregistration.v1.RuleWithOperations': { resources: '[]string', scope: 'string' },
};

function declarationFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of ts.sys.readDirectory(dir, ['.d.ts'], undefined, undefined)) out.push(entry);
  return out.sort();
}

function moduleOf(file: string): string {
  return relative(typesRoot, file).split(sep).join('/').replace(/\.d\.ts$/, '');
}

interface Generator {
  facts: SchemaFacts;
}

function generate(): Generator {
  const files = declarationFiles(typesRoot);
  const program = ts.createProgram(files, { noEmit: true, types: [], skipLibCheck: true, strict: true });
  const checker = program.getTypeChecker();
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  const kindRoots = new Map<string, string>();

  const nameOf = (decl: ts.Declaration & { name?: ts.Node }): string => {
    const module = moduleOf(decl.getSourceFile().fileName);
    return `${packagePrefix(module)}.${(decl.name as ts.Identifier).text}`;
  };

  const literalOf = (member: ts.TypeElement | undefined): string | undefined => {
    if (!member || !ts.isPropertySignature(member) || !member.type || !ts.isLiteralTypeNode(member.type)) return undefined;
    return ts.isStringLiteral(member.type.literal) ? member.type.literal.text : undefined;
  };
  const memberNamed = (decl: ts.InterfaceDeclaration, name: string) =>
    decl.members.find((m) => m.name && ts.isIdentifier(m.name) && m.name.text === name);

  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) continue;
    for (const stmt of source.statements) {
      if (!ts.isInterfaceDeclaration(stmt)) continue;
      const name = nameOf(stmt);
      interfaces.set(name, stmt);
      const apiVersion = literalOf(memberNamed(stmt, 'apiVersion'));
      const kind = literalOf(memberNamed(stmt, 'kind'));
      if (apiVersion && kind) kindRoots.set(`${apiVersion}/${kind}`, name);
    }
  }

  const resolveTypeName = (ref: ts.TypeReferenceNode): { name: string; decl: ts.Declaration } => {
    let symbol = checker.getSymbolAtLocation(ref.typeName);
    if (!symbol) throw new Error(`unresolved type ${ref.typeName.getText()}`);
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    const decl = symbol.declarations?.[0];
    if (!decl) throw new Error(`no declaration for ${ref.typeName.getText()}`);
    return { name: nameOf(decl as ts.Declaration & { name?: ts.Node }), decl };
  };

  const types: Record<string, TypeFacts> = {};
  const queue: string[] = [];
  const enqueue = (name: string) => {
    if (!(name in types) && !queue.includes(name)) queue.push(name);
  };

  const fieldType = (node: ts.TypeNode, owner: string, field: string): string => {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return 'string';
      case ts.SyntaxKind.BooleanKeyword:
        return 'boolean';
      case ts.SyntaxKind.NumberKeyword:
        return FLOAT_FIELDS.has(`${owner}.${field}`) ? 'number' : 'integer';
      case ts.SyntaxKind.LiteralType:
        return 'string';
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return 'object';
    }
    if (ts.isUnionTypeNode(node)) {
      const kinds = node.types.map((t) => t.kind).sort();
      if (kinds.length === 2 && kinds[0] === ts.SyntaxKind.NumberKeyword && kinds[1] === ts.SyntaxKind.StringKeyword) return 'IntOrString';
      return 'object';
    }
    if (ts.isArrayTypeNode(node)) return `[]${fieldType(node.elementType, owner, field)}`;
    if (ts.isTypeLiteralNode(node)) {
      const index = node.members.find(ts.isIndexSignatureDeclaration);
      if (index?.type && node.members.length === 1) return `{}${fieldType(index.type, owner, field)}`;
      throw new Error(`${owner}.${field}: unsupported type literal`);
    }
    if (ts.isTypeReferenceNode(node)) {
      const simple = ts.isIdentifier(node.typeName) ? node.typeName.text : '';
      if (simple === 'Array' && node.typeArguments?.length === 1) return `[]${fieldType(node.typeArguments[0], owner, field)}`;
      const { name, decl } = resolveTypeName(node);
      if (NAMED_STRINGS[name]) return NAMED_STRINGS[name];
      if (ts.isTypeAliasDeclaration(decl)) {
        // e.g. JSONSchemaPropsOrBool: a union upstream describes without a fixed shape
        return 'object';
      }
      if (ts.isInterfaceDeclaration(decl)) {
        enqueue(name);
        return name;
      }
      throw new Error(`${owner}.${field}: unsupported reference ${name}`);
    }
    throw new Error(`${owner}.${field}: unsupported type node ${ts.SyntaxKind[node.kind]}`);
  };

  const served = builtinScheme().kinds();
  const kinds: Record<string, string> = {};
  const addKind = (apiVersion: string, kind: string, optional = false) => {
    const root = kindRoots.get(`${apiVersion}/${kind}`);
    if (!root) {
      if (optional) return;
      throw new Error(`kubernetes-types has no ${apiVersion} ${kind}`);
    }
    kinds[`${apiVersion}/${kind}`] = root;
    enqueue(root);
  };
  for (const info of served) {
    const apiVersion = apiVersionOf(info);
    addKind(apiVersion, info.kind);
    addKind(apiVersion, `${info.kind}List`, true);
    if (info.subresources?.scale) addKind('autoscaling/v1', 'Scale');
    for (const extra of info.subresources?.extra ?? []) {
      // option kinds (PodExecOptions, …) are query parameters, not bodies: kubernetes-types has none of them
      addKind(extra.group !== undefined ? apiVersionOf({ group: extra.group, version: extra.version ?? 'v1' }) : apiVersion, extra.kind, true);
    }
  }

  while (queue.length) {
    const name = queue.shift()!;
    const decl = interfaces.get(name);
    if (!decl) throw new Error(`no interface ${name}`);
    const props = decl.members.filter(ts.isPropertySignature);
    if (props.length === 0) {
      types[name] = { freeForm: true };
      continue;
    }
    const fields: Record<string, string> = {};
    const required: string[] = [];
    for (const p of props) {
      const field = ts.isIdentifier(p.name) || ts.isStringLiteral(p.name) ? p.name.text : p.name.getText();
      if (!p.type) throw new Error(`${name}.${field}: no type`);
      fields[field] = fieldType(p.type, name, field);
      if (!p.questionToken) required.push(field);
    }
    Object.assign(fields, EXTRA_FIELDS[name]);
    types[name] = required.length ? { fields, required: required.sort() } : { fields };
  }
  return { facts: { source: `kubernetes-types@${packageVersion()}`, kinds, types } };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(typesRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

function sortedObject<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

/** One type per line, keys sorted: stable, and a change to one type is a one-line diff. */
function render(facts: SchemaFacts): string {
  const typeLines = Object.keys(facts.types)
    .sort()
    .map((name) => {
      const t = facts.types[name];
      const body: TypeFacts = t.freeForm ? { freeForm: true } : { fields: sortedObject(t.fields ?? {}), ...(t.required ? { required: t.required } : {}) };
      return `${JSON.stringify(name)}:${JSON.stringify(body)}`;
    });
  const json = `{"source":${JSON.stringify(facts.source)},\n"kinds":${JSON.stringify(sortedObject(facts.kinds))},\n"types":{\n${typeLines.join(',\n')}\n}}`;
  if (/[`\\]|\$\{/.test(json)) throw new Error('the facts contain characters a template literal cannot hold');
  return [
    '// Generated by scripts/gen-schema.ts from the declarations of the npm package kubernetes-types. Do not edit.',
    '// Facts only: field names, field types and required fields of every type reachable from the served kinds.',
    '// The format is described in ./facts.ts.',
    `export const BUILTIN_SCHEMA_JSON = \`${json}\`;`,
    '',
  ].join('\n');
}

const text = render(generate().facts);
if (process.argv.includes('--stdout')) process.stdout.write(text);
else if (process.argv.includes('--check')) {
  const current = readFileSync(outFile, 'utf8');
  if (current !== text) {
    process.stderr.write(`${relative(repoRoot, outFile)} is out of date: run node --import tsx scripts/gen-schema.ts\n`);
    process.exit(1);
  }
} else {
  writeFileSync(outFile, text);
  process.stdout.write(`wrote ${relative(repoRoot, outFile)} (${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB)\n`);
}
