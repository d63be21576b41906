// Server-side apply and metadata.managedFields for built-in kinds.
export { FieldSet, pathString, type FieldPath } from './fieldset.js';
export { applyConfiguration, updateManagedFields, type ManageOptions } from './manage.js';
export { decodeManagedFields, encodeManagedFields, managerIdentifier, type ManagedFields, type ManagerEntry } from './managers.js';
export { ssaSchemaFor, type SSANode } from './schema.js';
export { compare, merge, removeItems, toFieldSet, type Comparison } from './typed.js';
