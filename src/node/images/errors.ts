/** What went wrong, for callers that act on it (the agent maps every code but NeverPull to ErrImagePull). */
export type ImageErrorCode = 'NotFound' | 'Unauthorized' | 'DigestMismatch' | 'Unsupported' | 'NeverPull' | 'Registry' | 'Corrupt';

export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
  }
  /** The container waiting reason a kubelet shows for this error. */
  get reason(): 'ErrImagePull' | 'ErrImageNeverPull' {
    return this.code === 'NeverPull' ? 'ErrImageNeverPull' : 'ErrImagePull';
  }
}

export function digestMismatch(what: string, expected: string, got: string): ImageError {
  return new ImageError('DigestMismatch', `${what}: digest mismatch: expected ${expected}, got ${got}`);
}
