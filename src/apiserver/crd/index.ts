// CustomResourceDefinitions in the API server: serving the kinds they define.
import type { ApiServer } from '../handler.js';
import { CustomResourceDefinitionController } from './controller.js';

export { CustomResourceDefinitionController } from './controller.js';
export { customResourceKind, customUnknownFields, kindsForCRD, pruneCustomResource } from './kinds.js';

/**
 * Starts serving the CRDs the store holds and follows their changes. Requests other than the public
 * paths wait until the stored CRDs are registered. No-op when the scheme does not serve CRDs.
 */
export function installCustomResourceDefinitions(api: ApiServer, log: (line: string) => void = () => {}): CustomResourceDefinitionController | undefined {
  if (!api.scheme.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')) return undefined;
  const controller = new CustomResourceDefinitionController(api.registry, api.scheme, log);
  const previous = api.whenReady;
  api.whenReady = (async () => {
    await previous;
    try {
      await controller.start();
    } catch (e) {
      log(`customresourcedefinitions: could not start: ${(e as Error).message}`);
    }
    api.whenReady = previous;
  })();
  return controller;
}
