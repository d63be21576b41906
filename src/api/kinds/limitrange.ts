import type { LimitRange } from 'kubernetes-types/core/v1.js';
import { type FieldError, invalidValue, required, forbidden, duplicate } from '../errors.js';
import type { KindInfo } from '../types.js';
import { qualifiedNameErrors } from '../validation.js';
import { type Obj, isObj, str, list, obj, digList } from './checks.js';
import { type Quantity, cmpQuantity, newQuantity, approximateNumber, quantitySign } from '../quantity.js';
import {
  quantityValue,
  quantityText,
  resourceList,
  containerResourceNameErrors,
  anyResourceNameErrors,
  isOvercommitAllowed,
  canonicalizeResourceList,
} from './resources.js';

const LIMIT_TYPES = ['Pod', 'Container', 'PersistentVolumeClaim'];

/** Upstream SetDefaults_LimitRangeItem: a Container item's default limit and request fall back to max, default and min. */
function defaultItem(item: Obj): void {
  if (item.type !== 'Container') return;
  const def: Obj = isObj(item.default) ? item.default : {};
  const defReq: Obj = isObj(item.defaultRequest) ? item.defaultRequest : {};
  for (const [k, q] of Object.entries(isObj(item.max) ? item.max : {})) if (!(k in def)) def[k] = q;
  for (const [k, q] of Object.entries(def)) if (!(k in defReq)) defReq[k] = q;
  for (const [k, q] of Object.entries(isObj(item.min) ? item.min : {})) if (!(k in defReq)) defReq[k] = q;
  if (Object.keys(def).length || isObj(item.default)) item.default = def;
  if (Object.keys(defReq).length || isObj(item.defaultRequest)) item.defaultRequest = defReq;
}

function validateLimitRange(lr: LimitRange): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj(lr.spec, 'spec', errs) ?? {};
  const types = new Set<string>();
  list(spec.limits, 'spec.limits', errs).forEach((x, i) => {
    const ip = `spec.limits[${i}]`;
    const item = obj(x, ip, errs) ?? {};
    const type = str(item.type, `${ip}.type`, errs);
    const typeErrs = qualifiedNameErrors(type).map((m) => invalidValue(`${ip}.type`, type, m));
    if (!typeErrs.length && !type.includes('/') && !LIMIT_TYPES.includes(type))
      typeErrs.push(invalidValue(`${ip}.type`, type, 'must be a standard limit type or fully qualified'));
    errs.push(...typeErrs);
    if (types.has(type)) errs.push(duplicate(`${ip}.type`, type));
    types.add(type);

    const nameErrs = (k: string, p: string) => (type === 'Pod' || type === 'Container' ? containerResourceNameErrors(k, p) : anyResourceNameErrors(k, p));
    const maps: Record<string, Map<string, { raw: unknown; q?: Quantity }>> = {};
    const read = (field: string) => {
      const m = new Map<string, { raw: unknown; q?: Quantity }>();
      for (const [k, raw] of Object.entries(resourceList(item[field], `${ip}.${field}`, errs))) {
        errs.push(...nameErrs(k, `${ip}.${field}[${k}]`));
        const q = quantityValue(raw);
        if (!q) errs.push(invalidValue(`${ip}.${field}[${k}]`, raw, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
        m.set(k, { raw, q });
      }
      maps[field] = m;
    };
    read('max');
    read('min');
    if (type === 'Pod') {
      if (isObj(item.default) && Object.keys(item.default).length) errs.push(forbidden(`${ip}.default`, "may not be specified when `type` is 'Pod'"));
      if (isObj(item.defaultRequest) && Object.keys(item.defaultRequest).length)
        errs.push(forbidden(`${ip}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
      maps.default = new Map();
      maps.defaultRequest = new Map();
    } else {
      read('default');
      read('defaultRequest');
    }
    if (type === 'PersistentVolumeClaim' && !maps.min.has('storage') && !maps.max.has('storage'))
      errs.push(required(`${ip}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
    read('maxLimitRequestRatio');

    const keys = new Set(Object.values(maps).flatMap((m) => [...m.keys()]));
    for (const k of keys) {
      const min = maps.min.get(k);
      const max = maps.max.get(k);
      const def = maps.default.get(k);
      const defReq = maps.defaultRequest.get(k);
      const ratio = maps.maxLimitRequestRatio.get(k);
      const gt = (a?: { q?: Quantity }, b?: { q?: Quantity }) => !!(a?.q && b?.q && cmpQuantity(a.q, b.q) > 0);
      const t = (v?: { raw: unknown }) => quantityText(v?.raw);
      if (gt(min, max)) errs.push(invalidValue(`${ip}.min[${k}]`, t(min), `min value ${t(min)} is greater than max value ${t(max)}`));
      if (gt(min, defReq))
        errs.push(invalidValue(`${ip}.defaultRequest[${k}]`, t(defReq), `min value ${t(min)} is greater than default request value ${t(defReq)}`));
      if (gt(defReq, max))
        errs.push(invalidValue(`${ip}.defaultRequest[${k}]`, t(defReq), `default request value ${t(defReq)} is greater than max value ${t(max)}`));
      if (gt(defReq, def))
        errs.push(invalidValue(`${ip}.defaultRequest[${k}]`, t(defReq), `default request value ${t(defReq)} is greater than default limit value ${t(def)}`));
      if (gt(min, def)) errs.push(invalidValue(`${ip}.default[${k}]`, t(min), `min value ${t(min)} is greater than default value ${t(def)}`));
      if (gt(def, max)) errs.push(invalidValue(`${ip}.default[${k}]`, t(max), `default value ${t(def)} is greater than max value ${t(max)}`));
      if (ratio?.q && cmpQuantity(ratio.q, newQuantity(1)) < 0)
        errs.push(invalidValue(`${ip}.maxLimitRequestRatio[${k}]`, t(ratio), `ratio ${t(ratio)} is less than 1`));
      if (ratio?.q && min?.q && max?.q && quantitySign(min.q) > 0) {
        const limit = approximateNumber(max.q) / approximateNumber(min.q);
        if (approximateNumber(ratio.q) > limit)
          errs.push(invalidValue(`${ip}.maxLimitRequestRatio[${k}]`, t(ratio), `ratio ${t(ratio)} is greater than max/min = ${limit.toFixed(6)}`));
      }
      if (!isOvercommitAllowed(k) && def?.q && defReq?.q && cmpQuantity(def.q, defReq.q) !== 0)
        errs.push(invalidValue(`${ip}.defaultRequest[${k}]`, t(defReq), `default value ${t(def)} must equal to defaultRequest value ${t(defReq)} in ${k}`));
    }
  });
  return errs;
}

export const limitRangeKind: KindInfo<LimitRange> = {
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  resource: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  allowCreateOnUpdate: true,
  strategy: {
    defaults(lr) {
      for (const item of digList(lr.spec, 'limits')) {
        if (!isObj(item)) continue;
        defaultItem(item);
        for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) canonicalizeResourceList(item[k]);
      }
    },
    validate: validateLimitRange,
    table: {
      // Upstream has no printer for LimitRange: the server's default table (name and creation time).
      columns: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
        { name: 'Created At', type: 'date', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
      ],
      row: (lr) => [lr.metadata?.name ?? '', lr.metadata?.creationTimestamp ?? ''],
    },
  },
};
