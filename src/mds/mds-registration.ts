/**
 * What the metadata service knows of one registered pod (appc spec, "App Container Metadata
 * Service"). Written by stage0 at `run|prepare --mds-register`, read by the service on every
 * request, removed when the pod is garbage-collected.
 */
export interface MdsApp {
  imageId: string;
  /** The app's original image manifest (JSON object as stored). */
  imageManifest: Record<string, unknown>;
}

export interface MdsRegistration {
  uuid: string;
  /** The secret part of AC_METADATA_URL: 256 random bits, base64url. */
  token: string;
  /** The pod's HMAC-SHA512 key, base64; never given to the pod. */
  hmacKey: string;
  /** The pod's addresses on its networks (net-info.json): its token is only accepted from these. */
  addresses: string[];
  /** The reified pod manifest (the pod's `pod` file). */
  podManifest: Record<string, unknown>;
  apps: Record<string, MdsApp>;
}

/** Tokens are 32 random bytes in base64url: exactly this shape, so no path can be smuggled in. */
export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** How the service finds registrations; each returns null for anything not registered. */
export interface MdsLookup {
  byToken(token: string): MdsRegistration | null;
  byUuid(uuid: string): MdsRegistration | null;
}
