import type { Pod } from 'kubernetes-types/core/v1.js';
import { type FieldError, required, invalidValue, forbidden } from '../errors.js';
import type { KindInfo, TableCell } from '../types.js';
import { formatAge } from '../names.js';
import { type Obj, isObj, dig, digStr, digList, inclusiveRangeError, jsonEqual, clone, ipErrors } from './checks.js';
import { dns1123SubdomainErrors, qualifiedNameErrors } from '../validation.js';
import {
  defaultPodSpec,
  validatePodSpec,
  validatePodSpecificAnnotations,
  validateTolerations,
  computePodQOS,
} from './podspec.js';

const MIRROR_POD = 'kubernetes.io/config.mirror';

/** Upstream SetDefaults_Pod: what only a Pod (not a template) gets, before the pod spec defaults. */
function defaultPodOnly(spec: Obj): void {
  for (const k of ['containers', 'initContainers']) {
    for (const c of Array.isArray(spec[k]) ? spec[k] : []) {
      if (!isObj(c) || !isObj(c.resources) || !isObj(c.resources.limits)) continue;
      const res = c.resources;
      const limits = res.limits as Obj;
      const requests: Obj = isObj(res.requests) ? res.requests : (res.requests = {});
      for (const [name, q] of Object.entries(limits)) if (!(name in requests)) requests[name] = q;
    }
  }
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  if (spec.hostNetwork === true)
    for (const k of ['containers', 'initContainers'])
      for (const c of Array.isArray(spec[k]) ? spec[k] : [])
        for (const p of isObj(c) && Array.isArray(c.ports) ? c.ports : [])
          if (isObj(p) && (p.hostPort === undefined || p.hostPort === null || p.hostPort === 0)) p.hostPort = p.containerPort;
}

/**
 * The singular IP field and the list stay consistent as upstream's conversion keeps them: a singular
 * value that disagrees with the list wins (older clients), and the singular mirrors the list's first entry.
 */
function syncIPs(status: Obj, single: string, plural: string): void {
  const one = typeof status[single] === 'string' ? (status[single] as string) : '';
  const many = Array.isArray(status[plural]) ? status[plural] : [];
  const first = digStr(many[0], 'ip');
  if (one && (many.length === 0 || first !== one)) status[plural] = [{ ip: one }];
  else if (!one && first) status[single] = first;
}

const UPDATABLE_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** A short diff of two JSON values as `-path: old` / `+path: new` lines, standing in for upstream's cmp.Diff. */
function specDiff(before: unknown, after: unknown, path = 'spec', out: string[] = []): string[] {
  if (out.length >= 20 || jsonEqual(before, after)) return out;
  if (isObj(before) && isObj(after)) {
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) specDiff(before[k], after[k], `${path}.${k}`, out);
  } else if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((b, i) => specDiff(b, after[i], `${path}[${i}]`, out));
  } else {
    if (before !== undefined) out.push(`-\t${path}: ${JSON.stringify(before)}`);
    if (after !== undefined) out.push(`+\t${path}: ${JSON.stringify(after)}`);
  }
  return out;
}

const containersOf = (spec: Obj, k: string): Obj[] => (Array.isArray(spec[k]) ? spec[k].filter(isObj) : []);

/** `validateContainersOnlyForPod` and the other checks upstream applies to Pods but not templates. */
function validatePodOnly(pod: Pod): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(pod.spec) ? (pod.spec as unknown as Obj) : {};
  if (!spec.serviceAccountName)
    (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v, vi) =>
      digList(v, 'projected', 'sources').forEach((src, si) => {
        if (isObj(src) && isObj(src.serviceAccountToken))
          errs.push(forbidden(`spec.volumes[${vi}].projected.sources[${si}].serviceAccountToken`, 'must not be specified when serviceAccountName is not set'));
      }),
    );
  for (const k of ['containers', 'initContainers'])
    containersOf(spec, k).forEach((c, i) => {
      if (typeof c.image === 'string' && c.image !== c.image.trim())
        errs.push(invalidValue(`spec.${k}[${i}].image`, c.image, 'must not have leading or trailing whitespace'));
    });
  if (spec.nodeName && Array.isArray(spec.schedulingGates) && spec.schedulingGates.length > 0)
    errs.push(forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  return errs;
}

function validatePod(pod: Pod): FieldError[] {
  return [
    ...validatePodSpecificAnnotations(pod.metadata?.annotations, pod.spec, 'metadata.annotations'),
    ...validatePodSpec(pod.spec as NonNullable<Pod['spec']>, 'spec', { isPod: true, podMeta: pod.metadata }),
    ...validatePodOnly(pod),
  ];
}

function validateContainerUpdates(next: Obj[], prev: Obj[], path: string, errs: FieldError[]): boolean {
  if (next.length !== prev.length) {
    errs.push(forbidden(path, 'pod updates may not add or remove containers'));
    return true;
  }
  next.forEach((c, i) => {
    const image = typeof c.image === 'string' ? c.image : '';
    if (!image) errs.push(required(`${path}[${i}].image`));
    if (image !== image.trim()) errs.push(invalidValue(`${path}[${i}].image`, image, 'must not have leading or trailing whitespace'));
  });
  return false;
}

/** Tolerations may only be added; an existing one may change only its tolerationSeconds. */
function validateOnlyAddedTolerations(next: unknown, prev: unknown, path: string): FieldError[] {
  const nt = Array.isArray(next) ? next : [];
  for (const old of Array.isArray(prev) ? prev : []) {
    const found = nt.some((t) => isObj(t) && isObj(old) && jsonEqual({ ...old, tolerationSeconds: t.tolerationSeconds }, t));
    if (!found) return [forbidden(path, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(next, path);
}

function validateMirrorAnnotationUpdate(pod: Pod, old: Pod, errs: FieldError[]): void {
  const nm = pod.metadata?.annotations ?? {};
  const om = old.metadata?.annotations ?? {};
  if (MIRROR_POD in om && nm[MIRROR_POD] !== om[MIRROR_POD])
    errs.push(forbidden(`metadata.annotations[${MIRROR_POD}]`, 'may not remove or update mirror pod annotation'));
  if (MIRROR_POD in nm && !(MIRROR_POD in om)) errs.push(forbidden(`metadata.annotations[${MIRROR_POD}]`, 'may not add mirror pod annotation'));
}

function validatePodUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs: FieldError[] = [];
  validateMirrorAnnotationUpdate(pod, old, errs);

  const spec = isObj(pod.spec) ? (pod.spec as unknown as Obj) : {};
  const oldSpec = isObj(old.spec) ? (old.spec as unknown as Obj) : {};
  if (validateContainerUpdates(containersOf(spec, 'containers'), containersOf(oldSpec, 'containers'), 'spec.containers', errs)) return errs;
  if (validateContainerUpdates(containersOf(spec, 'initContainers'), containersOf(oldSpec, 'initContainers'), 'spec.initContainers', errs)) return errs;

  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (typeof ads === 'number') {
    if (ads < 0 || ads > 2147483647) {
      errs.push(invalidValue('spec.activeDeadlineSeconds', ads, inclusiveRangeError(0, 2147483647)));
      return errs;
    }
    if (typeof oldAds === 'number' && oldAds < ads) {
      errs.push(invalidValue('spec.activeDeadlineSeconds', ads, 'must be less than or equal to previous value'));
      return errs;
    }
  } else if (typeof oldAds === 'number') {
    errs.push(invalidValue('spec.activeDeadlineSeconds', ads ?? null, 'must not update from a positive integer to nil value'));
  }

  errs.push(...validateOnlyAddedTolerations(spec.tolerations, oldSpec.tolerations, 'spec.tolerations'));
  const oldGates = new Set(digList(oldSpec, 'schedulingGates').map((g) => digStr(g, 'name')));
  digList(spec, 'schedulingGates').forEach((g, i) => {
    const name = digStr(g, 'name');
    if (!oldGates.has(name))
      errs.push(forbidden(`spec.schedulingGates[${i}].name`, `only deletion is allowed, but found new scheduling gate '${name}'`));
  });

  if (jsonEqual(spec, oldSpec)) return errs;
  if (computePodQOS(oldSpec) !== computePodQOS(spec)) errs.push(invalidValue('metadata', pod.status?.qosClass ?? '', 'Pod QoS is immutable'));

  // Blank out what may change, then whatever still differs is a forbidden change.
  const munged = clone(spec);
  for (const k of ['containers', 'initContainers']) {
    const olds = containersOf(oldSpec, k);
    containersOf(munged, k).forEach((c, i) => {
      if (olds[i] && 'image' in olds[i]) c.image = olds[i].image;
      else delete c.image;
    });
  }
  for (const k of ['activeDeadlineSeconds', 'schedulingGates', 'tolerations']) {
    if (k in oldSpec) munged[k] = clone(oldSpec[k]);
    else delete munged[k];
  }
  if (typeof oldSpec.terminationGracePeriodSeconds === 'number' && oldSpec.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  if (Array.isArray(oldSpec.schedulingGates) && oldSpec.schedulingGates.length > 0) {
    // Gated pods may gain node selector entries and node affinity.
    const oldSel = isObj(oldSpec.nodeSelector) ? oldSpec.nodeSelector : {};
    const newSel = isObj(munged.nodeSelector) ? munged.nodeSelector : {};
    if (!jsonEqual(oldSel, newSel)) {
      if (Object.entries(oldSel).some(([k, v]) => newSel[k] !== v))
        errs.push(invalidValue('spec.nodeSelector', newSel, 'only additions to spec.nodeSelector are allowed (no mutations or deletions)'));
      if ('nodeSelector' in oldSpec) munged.nodeSelector = clone(oldSpec.nodeSelector);
      else delete munged.nodeSelector;
    }
    const oldNA = dig(oldSpec, 'affinity', 'nodeAffinity');
    const newNA = dig(munged, 'affinity', 'nodeAffinity');
    if (!jsonEqual(oldNA, newNA)) {
      errs.push(...validateNodeAffinityMutation(newNA, oldNA));
      if (!isObj(munged.affinity)) {
        if (oldNA !== undefined) munged.affinity = { nodeAffinity: clone(oldNA) };
      } else if (!isObj(oldSpec.affinity) && munged.affinity.podAffinity === undefined && munged.affinity.podAntiAffinity === undefined) {
        delete munged.affinity;
      } else if (oldNA === undefined) {
        delete munged.affinity.nodeAffinity;
      } else {
        munged.affinity.nodeAffinity = clone(oldNA);
      }
    }
  }
  if (!jsonEqual(munged, oldSpec)) {
    const diff = specDiff(oldSpec, munged).join('\n');
    errs.push(forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_FIELDS.join(',')}\n${diff}`));
  }
  return errs;
}

/** `validatePodIPs`/`validateHostIPs`: valid addresses, at most one per family, no duplicates. */
function validateStatusIPs(status: Obj, field: string, errs: FieldError[]): void {
  const ips = digList(status, field);
  const path = `status.${field}`;
  ips.forEach((x, i) => errs.push(...ipErrors(`${path}[${i}]`, digStr(x, 'ip'))));
  if (ips.length < 2) return;
  const v6 = ips.map((x) => digStr(x, 'ip').includes(':'));
  if (ips.length > 2 || v6[0] === v6[1]) errs.push(invalidValue(path, ips, 'may specify no more than one IP for each IP family'));
  const seen = new Set<string>();
  ips.forEach((x, i) => {
    const ip = digStr(x, 'ip');
    if (seen.has(ip)) errs.push({ field: `${path}[${i}]`, type: 'FieldValueDuplicate', value: x });
    seen.add(ip);
  });
}

/** `ValidateContainerStateTransition`: a container that may not restart stays terminated. */
function validateStateTransitions(next: unknown[], prev: unknown[], path: string, restartPolicy: string, mayRestart: (name: string) => boolean, errs: FieldError[]): void {
  if (restartPolicy === 'Always') return;
  prev.forEach((os, i) => {
    const term = dig(os, 'state', 'terminated');
    if (!isObj(term)) return;
    const name = digStr(os, 'name');
    if (mayRestart(name)) return;
    if ((Number(term.exitCode) || 0) !== 0 && restartPolicy === 'OnFailure') return;
    for (const ns of next)
      if (digStr(ns, 'name') === name && !isObj(dig(ns, 'state', 'terminated')))
        errs.push(forbidden(`${path}[${i}].state`, 'may not be transitioned to non-terminated state'));
  });
}

const SYSTEM_POD_CONDITIONS = new Set(['PodScheduled', 'Ready', 'Initialized']);

/**
 * `ValidatePodStatusUpdate`: a /status write only changes status and annotations (the status strategy
 * copies the spec from the stored pod), so the spec is not validated again.
 */
function validatePodStatusUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs: FieldError[] = [];
  validateMirrorAnnotationUpdate(pod, old, errs);
  errs.push(...validatePodSpecificAnnotations(pod.metadata?.annotations, pod.spec, 'metadata.annotations'));
  if (digStr(pod.spec, 'nodeName') !== digStr(old.spec, 'nodeName')) errs.push(forbidden('status.nodeName', 'may not be changed directly'));
  const status = isObj(pod.status) ? (pod.status as Obj) : {};
  digList(status, 'conditions').forEach((c, i) => {
    const type = digStr(c, 'type');
    if (SYSTEM_POD_CONDITIONS.has(type)) return;
    for (const m of qualifiedNameErrors(type)) errs.push(invalidValue(`status.conditions[${i}].Type`, type, m));
  });
  const nominated = digStr(status, 'nominatedNodeName');
  if (nominated && nominated !== digStr(old.status, 'nominatedNodeName'))
    for (const m of dns1123SubdomainErrors(nominated)) errs.push(invalidValue('status.nominatedNodeName', nominated, m));
  const restartPolicy = digStr(old.spec, 'restartPolicy');
  validateStateTransitions(digList(status, 'containerStatuses'), digList(old.status, 'containerStatuses'), 'status.containerStatuses', restartPolicy, () => false, errs);
  const sidecars = new Set(containersOf(isObj(old.spec) ? (old.spec as unknown as Obj) : {}, 'initContainers').filter(restartable).map((c) => c.name));
  validateStateTransitions(digList(status, 'initContainerStatuses'), digList(old.status, 'initContainerStatuses'), 'status.initContainerStatuses', restartPolicy, (n) => sidecars.has(n), errs);
  validateStatusIPs(status, 'podIPs', errs);
  validateStatusIPs(status, 'hostIPs', errs);
  return errs;
}

/** pods/binding sets only spec.nodeName, annotations and the PodScheduled condition; the rest of the spec is as stored. */
function validatePodBinding(pod: Pod, _old: Pod): FieldError[] {
  const errs = validatePodSpecificAnnotations(pod.metadata?.annotations, pod.spec, 'metadata.annotations');
  if (pod.spec?.nodeName && digList(pod.spec, 'schedulingGates').length > 0)
    errs.push(forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  return errs;
}

/** Gated pods may only add node selector requirements to existing required node affinity terms. */
function validateNodeAffinityMutation(next: unknown, prev: unknown): FieldError[] {
  const path = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms';
  const oldTerms = digList(prev, 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms');
  if (oldTerms.length === 0) return [];
  const newTerms = digList(next, 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms');
  if (oldTerms.length !== newTerms.length)
    return [invalidValue(path, newTerms, 'no additions/deletions to non-empty NodeSelectorTerms list are allowed')];
  const errs: FieldError[] = [];
  oldTerms.forEach((ot, i) => {
    const nt = newTerms[i];
    const onlyAdditions = (['matchExpressions', 'matchFields'] as const).every((k) => {
      const o = digList(ot, k);
      const n = digList(nt, k);
      if (o.length === 0) return digList(ot, 'matchExpressions').length + digList(ot, 'matchFields').length > 0 || n.length === 0;
      return n.length >= o.length && jsonEqual(n.slice(0, o.length), o);
    });
    if (!onlyAdditions) errs.push(invalidValue(`${path}[${i}]`, nt, 'only additions are allowed (no mutations or deletions)'));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// Table

const time = (v: unknown): number => (typeof v === 'string' ? Date.parse(v) : NaN);
const restartable = (c: unknown) => isObj(c) && c.restartPolicy === 'Always';

/** The cells of `kubectl get pods`, with upstream printPod's STATUS/READY/RESTARTS logic. */
export function podRow(pod: Pod, now: number): TableCell[] {
  const spec = (isObj(pod.spec) ? pod.spec : {}) as Obj;
  const status = (isObj(pod.status) ? pod.status : {}) as Obj;
  let restarts = 0;
  let sidecarRestarts = 0;
  let ready = 0;
  let total = containersOf(spec, 'containers').length;
  let lastRestart = NaN;
  let lastSidecarRestart = NaN;
  const later = (a: number, b: number) => (Number.isNaN(a) || b > a ? b : a);

  const phase = typeof status.phase === 'string' ? status.phase : '';
  let reason = typeof status.reason === 'string' && status.reason ? status.reason : phase;
  for (const c of digList(status, 'conditions'))
    if (digStr(c, 'type') === 'PodScheduled' && digStr(c, 'reason') === 'SchedulingGated') reason = 'SchedulingGated';

  const inits = new Map<string, Obj>();
  for (const c of containersOf(spec, 'initContainers')) {
    inits.set(typeof c.name === 'string' ? c.name : '', c);
    if (restartable(c)) total++;
  }

  let initializing = false;
  const initStatuses = digList(status, 'initContainerStatuses');
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const count = Number(dig(cs, 'restartCount')) || 0;
    restarts += count;
    const finished = time(dig(cs, 'lastState', 'terminated', 'finishedAt'));
    if (!Number.isNaN(finished)) lastRestart = later(lastRestart, finished);
    const sidecar = restartable(inits.get(digStr(cs, 'name')));
    if (sidecar) {
      sidecarRestarts += count;
      if (!Number.isNaN(finished)) lastSidecarRestart = later(lastSidecarRestart, finished);
    }
    const term = dig(cs, 'state', 'terminated');
    const waitingReason = digStr(cs, 'state', 'waiting', 'reason');
    if (isObj(term) && (Number(term.exitCode) || 0) === 0) continue;
    if (sidecar && dig(cs, 'started') === true) {
      if (dig(cs, 'ready') === true) ready++;
      continue;
    }
    if (isObj(term)) {
      const r = typeof term.reason === 'string' ? term.reason : '';
      if (!r) reason = term.signal ? `Init:Signal:${Number(term.signal)}` : `Init:ExitCode:${Number(term.exitCode) || 0}`;
      else reason = 'Init:' + r;
    } else if (waitingReason && waitingReason !== 'PodInitializing') {
      reason = 'Init:' + waitingReason;
    } else {
      reason = `Init:${i}/${containersOf(spec, 'initContainers').length}`;
    }
    initializing = true;
    break;
  }

  const initializedTrue = digList(status, 'conditions').some((c) => digStr(c, 'type') === 'Initialized' && digStr(c, 'status') === 'True');
  if (!initializing || initializedTrue) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = digList(status, 'containerStatuses');
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      restarts += Number(dig(cs, 'restartCount')) || 0;
      const finished = time(dig(cs, 'lastState', 'terminated', 'finishedAt'));
      if (!Number.isNaN(finished)) lastRestart = later(lastRestart, finished);
      const waitingReason = digStr(cs, 'state', 'waiting', 'reason');
      const term = dig(cs, 'state', 'terminated');
      if (waitingReason) reason = waitingReason;
      else if (isObj(term) && typeof term.reason === 'string' && term.reason) reason = term.reason;
      else if (isObj(term)) reason = term.signal ? `Signal:${Number(term.signal)}` : `ExitCode:${Number(term.exitCode) || 0}`;
      else if (dig(cs, 'ready') === true && isObj(dig(cs, 'state', 'running'))) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const podReady = digList(status, 'conditions').some((c) => digStr(c, 'type') === 'Ready' && digStr(c, 'status') === 'True');
      reason = podReady ? 'Running' : 'NotReady';
    }
  }

  const deleting = !!pod.metadata?.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Failed' && phase !== 'Succeeded') reason = 'Terminating';

  let restartsCell = String(restarts);
  if (restarts !== 0 && !Number.isNaN(lastRestart)) restartsCell = `${restarts} (${formatAge(new Date(lastRestart).toISOString(), now)} ago)`;

  const podIP = digStr(digList(status, 'podIPs')[0], 'ip') || '<none>';
  const nodeName = (typeof spec.nodeName === 'string' && spec.nodeName) || '<none>';
  const nominated = (typeof status.nominatedNodeName === 'string' && status.nominatedNodeName) || '<none>';
  let gates = '<none>';
  const readinessGates = digList(spec, 'readinessGates');
  if (readinessGates.length > 0) {
    let trueCount = 0;
    for (const g of readinessGates) {
      const cond = digList(status, 'conditions').find((c) => digStr(c, 'type') === digStr(g, 'conditionType'));
      if (cond && digStr(cond, 'status') === 'True') trueCount++;
    }
    gates = `${trueCount}/${readinessGates.length}`;
  }
  return [
    pod.metadata?.name ?? '',
    `${ready}/${total}`,
    reason,
    restartsCell,
    formatAge(pod.metadata?.creationTimestamp, now),
    podIP,
    nodeName,
    nominated,
    gates,
  ];
}

export const podKind: KindInfo<Pod> = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  resource: 'pods',
  singular: 'pod',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  returnDeletedObject: true,
  subresources: {
    status: true,
    extra: [
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'ephemeralcontainers', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
      { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
    ],
  },
  strategy: {
    defaults(pod) {
      if (isObj(pod.status)) {
        syncIPs(pod.status as Obj, 'podIP', 'podIPs');
        syncIPs(pod.status as Obj, 'hostIP', 'hostIPs');
      }
      if (!isObj(pod.spec)) return;
      defaultPodOnly(pod.spec as unknown as Obj);
      defaultPodSpec(pod.spec);
    },
    prepareForCreate(pod) {
      const status: Obj = { phase: 'Pending', qosClass: computePodQOS(pod.spec) };
      if (digList(pod.spec, 'schedulingGates').length > 0)
        status.conditions = [
          { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: 'Scheduling is blocked due to non-empty scheduling gates' },
        ];
      Object.assign(pod, { status });
    },
    prepareForStatusUpdate(pod, old) {
      if (isObj(pod.status)) {
        syncIPs(pod.status as Obj, 'podIP', 'podIPs');
        syncIPs(pod.status as Obj, 'hostIP', 'hostIPs');
        if (!pod.status.qosClass && old.status?.qosClass) pod.status.qosClass = old.status.qosClass;
      }
    },
    /** Upstream CheckGracefulDelete: the requested or the pod's grace period, 0 when unscheduled or finished. */
    gracefulDeleteSeconds(pod, requested) {
      let period = requested ?? (typeof pod.spec?.terminationGracePeriodSeconds === 'number' ? pod.spec.terminationGracePeriodSeconds : 0);
      if (!pod.spec?.nodeName) period = 0;
      const phase = pod.status?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') period = 0;
      return period < 0 ? 1 : period;
    },
    validate: validatePod,
    validateUpdate: validatePodUpdate,
    validateStatusUpdate: validatePodStatusUpdate,
    validateBinding: validatePodBinding,
    selectableFields(pod) {
      const spec = pod.spec as unknown;
      return {
        'spec.nodeName': digStr(spec, 'nodeName'),
        'spec.restartPolicy': digStr(spec, 'restartPolicy'),
        'spec.schedulerName': digStr(spec, 'schedulerName'),
        'spec.serviceAccountName': digStr(spec, 'serviceAccountName'),
        'spec.hostNetwork': String(dig(spec, 'hostNetwork') === true),
        'status.phase': digStr(pod.status, 'phase'),
        'status.podIP': digStr(digList(pod.status, 'podIPs')[0], 'ip'),
        'status.nominatedNodeName': digStr(pod.status, 'nominatedNodeName'),
      };
    },
    table: {
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Ready', type: 'string', description: 'The aggregate readiness state of this pod for accepting traffic.', priority: 0 },
        { name: 'Status', type: 'string', description: 'The aggregate status of the containers in this pod.', priority: 0 },
        {
          name: 'Restarts',
          type: 'string',
          description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
          priority: 0,
        },
        { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
        { name: 'IP', type: 'string', description: 'podIP address allocated to the pod. Routable at least within the cluster.', priority: 1 },
        { name: 'Node', type: 'string', description: 'NodeName indicates in which node this pod is scheduled.', priority: 1 },
        { name: 'Nominated Node', type: 'string', description: 'nominatedNodeName is set when this pod preempts other pods on the node.', priority: 1 },
        { name: 'Readiness Gates', type: 'string', description: 'If specified, all readiness gates will be evaluated for pod readiness.', priority: 1 },
      ],
      row: podRow,
    },
  },
};
