// Lets the API server accept `application/vnd.kubernetes.protobuf` bodies (kubectl ≥ 1.32 `create …`, Helm 3.17+/4).
import { errBadRequest } from '../api/errors.js';
import { decodeProtobufEnvelope, decodeProtobufObject } from '../api/protobuf/decode.js';
import { apiVersionOf, type KindInfo } from '../api/types.js';
import type { ApiServer } from './handler.js';

/** Decodes a protobuf body for the kind the URL names: a body of another kind is a 400, as for JSON. */
export function decodeProtobufFor(buf: Buffer, info: KindInfo): Record<string, unknown> {
  const env = decodeProtobufEnvelope(buf);
  const want = apiVersionOf(info);
  if (env.apiVersion !== want)
    throw errBadRequest(`the API version in the data (${env.apiVersion}) does not match the expected API version (${want})`);
  if (env.kind !== info.kind)
    throw errBadRequest(`the kind in the data (${env.kind}) does not match the expected kind (${info.kind}) for ${info.resource}`);
  return decodeProtobufObject(env);
}

export function installProtobuf(api: ApiServer): void {
  api.decodeProtobuf = decodeProtobufFor;
}
