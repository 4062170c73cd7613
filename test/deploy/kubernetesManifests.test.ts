// deploy/kubernetes (the embedded queue, a StatefulSet) and deploy/kubernetes/shared-queue
// (PostgreSQL, a Deployment): what the manifests say about the relay agrees with the relay —
// the config in the ConfigMap loads, in the layout the pod mounts it in; the queue is where
// the workload keeps it; the probes ask for endpoints the admin listener serves without a
// password, on its port; the Service reaches the SMTP listener; the grace period outlasts
// the drain; the pod runs as nobody privileged. No cluster here (and Debian's kubectl is too
// old for kustomize): parsed, not applied.
import t, { type Test } from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { route, needsPassword } from '../../src/admin/routes.js';
import { loadConfig } from '../../src/config/load.js';
import { SHUTDOWN_GRACE_MS } from '../../src/inbound/shutdownGrace.js';
import { makeCert } from '../helpers/pki.js';
import { PROJECT_ROOT } from '../helpers/relayProcess.js';

interface Variant {
  /** The folder of its kustomization, under deploy/kubernetes. */
  folder: string;
  workload: 'StatefulSet' | 'Deployment';
}

const VARIANTS: Variant[] = [
  { folder: '.', workload: 'StatefulSet' },
  { folder: 'shared-queue', workload: 'Deployment' },
];

// Only the fields the checks read: the manifests are plain Kubernetes objects.
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: any;
}

for (const variant of VARIANTS) {
  const DIR = join(PROJECT_ROOT, 'deploy', 'kubernetes', variant.folder);
  t.test(`deploy/kubernetes/${variant.folder === '.' ? '' : `${variant.folder}/`}: a ${variant.workload}`, async (t) => {
    checkVariant(t, DIR, variant);
  });
}

function checkVariant(t: Test, DIR: string, variant: Variant): void {
  function manifestsIn(file: string): Manifest[] {
    return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((doc) => {
      t.equal(doc.errors.length, 0, `${file} is valid YAML`);
      return doc.toJS() as Manifest;
    });
  }

  const kustomization = parse(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as { resources: string[]; namespace: string; images: Array<{ name: string }> };
  const applied = kustomization.resources.flatMap(manifestsIn);
  const only = (kind: string): Manifest => {
    const found = applied.filter((m) => m.kind === kind);
    t.equal(found.length, 1, `one ${kind} is applied`);
    return found[0]!;
  };
  const workload = only(variant.workload);
  const pod = workload.spec.template.spec;
  const container = pod.containers[0];
  const configMap = only('ConfigMap');

  /** The config of the ConfigMap as the relay reads it in the pod: in the mounted folders, each made here with what it holds. */
  async function podConfig(t: Test, root: string) {
    const mountOf = (volume: string) => container.volumeMounts.find((m: { name: string }) => m.name === volume).mountPath as string;
    const configFile = container.env.find((e: { name: string }) => e.name === 'TLSRELAY_CONFIG').value as string;
    const inRoot = (podPath: string) => join(root, podPath);
    t.equal(dirname(configFile), mountOf('config'), 'TLSRELAY_CONFIG names a file in the ConfigMap’s mount');
    const configKey = configFile.slice(mountOf('config').length + 1);
    mkdirSync(inRoot(mountOf('config')), { recursive: true });
    writeFileSync(inRoot(configFile), configMap.data[configKey]);
    // the Secret's keys, as a kubernetes.io/tls Secret has them
    const pair = await makeCert({ names: ['relay.example.com'] });
    mkdirSync(inRoot(mountOf('certs')), { recursive: true });
    writeFileSync(join(inRoot(mountOf('certs')), 'tls.crt'), pair.cert);
    writeFileSync(join(inRoot(mountOf('certs')), 'tls.key'), pair.key);
    const config = loadConfig(inRoot(configFile), 'pod.example.com');
    const podPath = (file: string) => `/${relative(root, file)}`;
    return { config, podPath, mountOf };
  }

  t.test('the relay loads the ConfigMap’s config in the pod’s layout, with its files where the volumes put them', async (t) => {
    const root = resolve(t.testdir());
    const { config, podPath, mountOf } = await podConfig(t, root);
    t.strictSame(config.warnings, [], 'without a warning');
    t.equal(podPath(config.queue.dir), mountOf('spool'), 'queue.dir is the folder mounted as spool');
    if (variant.workload === 'StatefulSet') {
      t.equal(config.queue.postgres, undefined, 'the embedded queue');
      t.equal(config.queue.store, 'lmdb', 'the embedded store, which the StatefulSet gives a volume per pod');
      t.ok(workload.spec.volumeClaimTemplates.some((c: { metadata: { name: string } }) => c.metadata.name === 'spool'), 'a volume claim per pod for it');
    } else {
      const url = new URL(config.queue.postgres!.url);
      t.equal(url.password, '', 'the shared queue, with no password in the ConfigMap');
      const password = container.env.find((e: { name: string }) => e.name === 'PGPASSWORD');
      const [secret] = manifestsIn('database-secret.example.yaml');
      t.strictSame(password.valueFrom.secretKeyRef, { name: secret!.metadata.name, key: Object.keys(secret!.stringData)[0] }, 'PGPASSWORD, which the client reads, from the database Secret');
      t.notOk(kustomization.resources.includes('database-secret.example.yaml'), 'not applied: it would overwrite the real password');
      t.ok(pod.volumes.find((v: { name: string }) => v.name === 'spool').emptyDir, 'queue.dir is scratch: the mail is in the database');
      t.equal(workload.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rollout never leaves fewer relays');
    }
    t.equal(config.tls.generateIfMissing, false, 'no self-signed certificate in production: a missing Secret fails the start');
    t.notOk(config.inbound.some((c) => c.match.ips?.some((range) => range.endsWith('/0'))), 'no connector relays for every address');
  });

  t.test('the probes ask the admin listener for /healthz and /readyz, which need no password', async (t) => {
    const { config } = await podConfig(t, resolve(t.testdir()));
    const admin = config.admin!;
    t.not(admin.address, '127.0.0.1', 'the kubelet probes the pod’s address, not its loopback');
    t.ok(admin.passwordHash, 'so the admin listener has a password (the relay refuses it otherwise)');
    const adminPort = container.ports.find((p: { name: string }) => p.name === 'admin');
    t.equal(adminPort.containerPort, admin.port, 'the port named admin is the admin listener’s');
    const expected = { readinessProbe: 'readyz', livenessProbe: 'healthz', startupProbe: 'healthz' } as const;
    for (const [probe, endpoint] of Object.entries(expected)) {
      const { path, port } = container[probe].httpGet;
      const target = route('GET', path);
      t.strictSame(target, { kind: 'endpoint', endpoint }, `${probe} asks for ${endpoint}`);
      t.equal(needsPassword(target), false, `${probe}: answered without the password the kubelet does not have`);
      t.equal(port, 'admin', `${probe} on the admin port`);
    }
  });

  t.test('the Service on port 25 reaches the SMTP listener and keeps the clients’ addresses', async (t) => {
    const { config } = await podConfig(t, resolve(t.testdir()));
    const service = only('Service');
    const smtp = container.ports.find((p: { name: string }) => p.name === 'smtp');
    t.equal(smtp.containerPort, config.listeners[0]!.port, 'the container port is the listener’s');
    t.ok(smtp.containerPort >= 1024, 'unprivileged: the pod needs no capability to bind it');
    t.strictSame(service.spec.ports, [{ name: 'smtp', port: 25, targetPort: 'smtp' }]);
    t.equal(service.spec.externalTrafficPolicy, 'Local', 'connectors match the clients’ own addresses, not a node’s');
    t.strictSame(service.spec.selector, workload.spec.template.metadata.labels, 'it selects the relay pods');
  });

  t.test('SIGTERM drains inside the grace period, and a node drain keeps a relay up', async (t) => {
    const [command, seconds] = container.lifecycle.preStop.exec.command;
    t.equal(command, 'sleep');
    const drainEndsMs = Number(seconds) * 1000 + SHUTDOWN_GRACE_MS;
    t.ok(pod.terminationGracePeriodSeconds * 1000 > drainEndsMs, `grace ${pod.terminationGracePeriodSeconds} s > preStop ${seconds} s + drain ${SHUTDOWN_GRACE_MS / 1000} s`);
    const budget = only('PodDisruptionBudget');
    t.strictSame(budget.spec.selector.matchLabels, workload.spec.template.metadata.labels, 'the budget covers the relay pods');
    t.ok(budget.spec.minAvailable >= 1 && budget.spec.minAvailable < workload.spec.replicas, 'one relay stays up, and a drain can still proceed');
  });

  t.test('the pod runs unprivileged, from the image the Dockerfile builds, with the Secret it names', async (t) => {
    t.equal(pod.securityContext.runAsNonRoot, true);
    const dockerfileUser = /^USER (\S+)$/m.exec(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'))![1];
    t.equal(dockerfileUser, 'node', 'the image’s user');
    t.equal(pod.securityContext.runAsUser, 1000, 'by its number (node is 1000 in the Node images): runAsNonRoot cannot check a name');
    t.strictSame(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    t.equal(container.image, kustomization.images[0]!.name, 'the kustomization sets where the image comes from');
    t.match(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'), /^ENTRYPOINT \["node", "dist\/main\.js"\]\nCMD \["start"\]$/m, 'the image starts the relay by itself: the pod gives no command');

    const secretName = pod.volumes.find((v: { name: string }) => v.name === 'certs').secret.secretName;
    const [example] = manifestsIn('tls-secret.example.yaml');
    t.equal(example!.metadata.name, secretName, 'the example Secret is the one the pod mounts');
    t.equal(example!.type, 'kubernetes.io/tls', 'the type cert-manager and `kubectl create secret tls` make');
    t.equal(example!.metadata.namespace, kustomization.namespace);
    t.notOk(kustomization.resources.includes('tls-secret.example.yaml'), 'not applied: it would overwrite the real certificate');
    t.equal(pod.volumes.find((v: { name: string }) => v.name === 'certs').secret.defaultMode, 0o440, 'readable by the relay’s group, no one else');
    t.notOk(container.volumeMounts.some((m: { subPath?: string }) => m.subPath !== undefined), 'no subPath: a renewed Secret reaches the running relay');
  });
}
