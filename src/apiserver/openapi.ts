// OpenAPI documents. For now: valid, empty documents, with which kubectl falls back to schema-less behaviour.
import type { Scheme } from '../api/scheme.js';

export function openAPIV2(_scheme: Scheme, version: string) {
  return { swagger: '2.0', info: { title: 'Kubernetes', version }, paths: {}, definitions: {} };
}

export function openAPIV3Root(_scheme: Scheme) {
  return { paths: {} };
}
