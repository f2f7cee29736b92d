import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form until validated against their schema
  spec?: any;
  data?: Record<string, string>;
}

/** The fields of a kustomization this renderer implements; any other field is an error, never ignored. */
const known = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'labels', 'images', 'replicas']);
const clusterScoped = new Set(['Namespace']);

/** Every object of a multi-document YAML file. */
export function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

function containersOf(o: K8sObject): Array<{ image?: string }> {
  const pod = o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
  return pod ? [...(pod.initContainers ?? []), ...(pod.containers ?? [])] : [];
}

/**
 * Renders a kustomization folder the way `kustomize build` does, for the subset used in infra/k8s:
 * resources (files and folders), namespace, labels (metadata only), images, replicas. A field outside
 * that subset throws, so the manifests cannot quietly outgrow what the tests check.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  const k = (readObjects(file)[0] ?? {}) as unknown as Record<string, unknown>;
  if (k.kind !== 'Kustomization') throw new Error(`${file}: not a Kustomization`);
  const unknown = Object.keys(k).filter((key) => !known.has(key));
  if (unknown.length) throw new Error(`${file}: fields not supported by this renderer: ${unknown.join(', ')}`);

  const objects: K8sObject[] = [];
  for (const resource of (k.resources as string[] | undefined) ?? []) {
    const path = join(dir, resource);
    if (!existsSync(path)) throw new Error(`${file}: resource ${resource} does not exist`);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readObjects(path)));
  }
  for (const { pairs } of (k.labels as Array<{ pairs: Record<string, string> }> | undefined) ?? []) {
    for (const o of objects) o.metadata.labels = { ...o.metadata.labels, ...pairs };
  }
  const namespace = k.namespace as string | undefined;
  if (namespace) for (const o of objects) if (!clusterScoped.has(o.kind)) o.metadata.namespace = namespace;
  for (const image of (k.images as Array<{ name: string; newName?: string; newTag?: string }> | undefined) ?? []) {
    const matches = objects.flatMap(containersOf).filter((c) => c.image?.split(':')[0] === image.name);
    if (!matches.length) throw new Error(`${file}: image ${image.name} is used by no container`);
    for (const c of matches) c.image = `${image.newName ?? image.name}${image.newTag ? `:${image.newTag}` : ''}`;
  }
  for (const r of (k.replicas as Array<{ name: string; count: number }> | undefined) ?? []) {
    const target = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === r.name);
    if (!target) throw new Error(`${file}: replicas for ${r.name}, which is no Deployment`);
    target.spec.replicas = r.count;
  }
  return objects;
}

/** The folder of this repository's Kubernetes manifests. */
export const k8sDir = join(dirname(new URL(import.meta.url).pathname), '..', 'k8s');
