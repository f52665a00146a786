/**
 * `npm run validate:deploy`: checks the deployment files offline.
 *  - docker-compose.yml is loaded by compose-go's loader (what docker compose uses): schema,
 *    interpolation, normalisation, consistency (depends_on naming a service that is not there, ...).
 *  - every manifest that infra/k8s/kustomization.yaml lists is validated by kubeconform in strict mode
 *    (unknown fields are errors; a resource without a schema is an error, never skipped) against the
 *    Kubernetes JSON schemas that the PyPI package kubernetes-validate bundles (fetched with pip once).
 * Both checks are one Go program, infra/validate/, built once with `go build` and cached under
 * CRM_CACHE_DIR (keyed by a hash of its sources), like the Temporal CLI. Exit status 1 when anything fails.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { PROJECT_ROOT } from '../lib/paths';

/** The Kubernetes release the manifests are checked against (the oldest one they are meant for). */
const KUBERNETES_VERSION = '1.33.0';
/** The PyPI package whose wheel carries the schemas (kubernetes_validate/kubernetes-json-schema/). */
const SCHEMA_PACKAGE = 'kubernetes-validate';
const SCHEMA_PACKAGE_VERSION = '1.37.0';

const VALIDATE_DIR = path.join(PROJECT_ROOT, 'infra', 'validate');
const K8S_DIR = path.join(PROJECT_ROOT, 'infra', 'k8s');
const COMPOSE_FILE = 'docker-compose.yml';

const log = (msg: string): void => console.log(`validate:deploy: ${msg}`);

function fail(msg: string): never {
  console.error(`validate:deploy: ${msg}`);
  process.exit(1);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): number {
  const result = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (result.error) fail(`${cmd} did not run: ${result.error.message}`);
  return result.status ?? 1;
}

/** The validator binary, built from infra/validate/ unless the cache holds one of the same sources. */
function validatorBinary(cacheDir: string): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go'])
    hash.update(fs.readFileSync(path.join(VALIDATE_DIR, file)));
  const binary = path.join(cacheDir, 'bin', `crm-validate-${hash.digest('hex').slice(0, 12)}`);
  if (fs.existsSync(binary)) {
    log(`validator: cached ${binary}`);
    return binary;
  }
  log(
    `validator: building infra/validate/ (kubeconform, compose-go) into ${binary}; the first build takes minutes`,
  );
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  const code = run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], {
    cwd: VALIDATE_DIR,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
  });
  if (code !== 0) {
    fs.rmSync(tmp, { force: true });
    fail('go build of infra/validate/ failed (Go >= 1.26 is needed)');
  }
  fs.renameSync(tmp, binary);
  return binary;
}

/**
 * `<dir>/v<version>-local-strict/*.json`, the layout kubeconform's -schema-location template names. The
 * bundled files identify themselves as https://kubernetes.io/api/... and point at
 * /api/_definitions.json; both would send the loader to the network, so each file loses its `$id` and
 * its references name the `_definitions.json` beside it.
 */
function schemaDir(cacheDir: string): string {
  const root = path.join(cacheDir, 'kubernetes-json-schema', `${SCHEMA_PACKAGE}-${SCHEMA_PACKAGE_VERSION}`);
  const folder = `v${KUBERNETES_VERSION}-local-strict`;
  const done = path.join(root, folder, '.complete');
  if (fs.existsSync(done)) {
    log(`schemas: cached ${path.join(root, folder)}`);
    return root;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-schemas-'));
  try {
    log(`schemas: pip download ${SCHEMA_PACKAGE}==${SCHEMA_PACKAGE_VERSION} (the wheel bundles them)`);
    const pip = run('python3', [
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--only-binary=:all:',
      '--disable-pip-version-check',
      '--quiet',
      '-d',
      work,
      `${SCHEMA_PACKAGE}==${SCHEMA_PACKAGE_VERSION}`,
    ]);
    if (pip !== 0) fail(`pip could not download ${SCHEMA_PACKAGE}==${SCHEMA_PACKAGE_VERSION}`);
    const wheel = fs.readdirSync(work).find((f) => f.endsWith('.whl'));
    if (!wheel) fail('pip downloaded no wheel');
    const member = `kubernetes_validate/kubernetes-json-schema/${folder}/`;
    const unzip = run('python3', [
      '-c',
      'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nz.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(sys.argv[3])])',
      path.join(work, wheel),
      work,
      member,
    ]);
    if (unzip !== 0) fail(`could not extract ${member} from ${wheel}`);
    const from = path.join(work, member);
    const to = path.join(work, 'out', folder);
    fs.mkdirSync(to, { recursive: true });
    let files = 0;
    for (const name of fs.readdirSync(from).filter((f) => f.endsWith('.json'))) {
      const schema = JSON.parse(fs.readFileSync(path.join(from, name), 'utf8')) as Record<string, unknown>;
      delete schema.$id;
      fs.writeFileSync(path.join(to, name), JSON.stringify(localRefs(schema)));
      files += 1;
    }
    if (!fs.existsSync(path.join(to, '_definitions.json')))
      fail(`${wheel} has no ${member}_definitions.json`);
    fs.writeFileSync(path.join(to, '.complete'), `${files} schemas from ${wheel}\n`);
    fs.rmSync(path.join(root, folder), { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    fs.renameSync(to, path.join(root, folder));
    log(`schemas: ${files} files in ${path.join(root, folder)}`);
    return root;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function localRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(localRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [
      key,
      key === '$ref' && typeof v === 'string'
        ? v.replace(/^\/api\/_definitions\.json#/, '_definitions.json#')
        : localRefs(v),
    ]),
  );
}

/** The manifests kustomization.yaml lists; every other YAML file in infra/k8s/ must be listed too. */
function manifests(): string[] {
  const kustomization = fs.readFileSync(path.join(K8S_DIR, 'kustomization.yaml'), 'utf8');
  const block = /^resources:\n((?:[ \t]+-[^\n]*\n)+)/m.exec(kustomization)?.[1] ?? '';
  const listed = [...block.matchAll(/-\s*(\S+)/g)].map((m) => m[1] as string);
  if (listed.length === 0) fail('infra/k8s/kustomization.yaml lists no resources');
  const present = fs.readdirSync(K8S_DIR).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
  const unlisted = present.filter((f) => !listed.includes(f));
  if (unlisted.length > 0) fail(`infra/k8s/kustomization.yaml does not list ${unlisted.join(', ')}`);
  return listed.map((f) => path.join('infra', 'k8s', f));
}

function main(): void {
  const started = Date.now();
  const { cacheDir } = loadConfig();
  const binary = validatorBinary(cacheDir);
  const schemas = schemaDir(cacheDir);
  const composeCode = run(binary, ['compose', COMPOSE_FILE], { cwd: PROJECT_ROOT });
  const k8sCode = run(
    binary,
    ['k8s', '-schemas', schemas, '-kubernetes-version', KUBERNETES_VERSION, ...manifests()],
    {
      cwd: PROJECT_ROOT,
    },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (composeCode !== 0 || k8sCode !== 0) fail(`FAILED (${seconds} s)`);
  log(`compose and Kubernetes manifests valid (${seconds} s)`);
}

main();
