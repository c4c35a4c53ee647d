import type { CertificatePolicy } from "../domain/certificate-types.js";
import type { NhiDeclaration, NhiDiscoveryRule, NhiPolicy } from "../domain/nhi-types.js";
import type { NhiRotationConfig } from "./sections/nhi-rotation-schema.js";

/**
 * `nhi:` resolved (sections/nhi-section.ts): TenureConfig's `nhi`. Its own file so that config-types.ts
 * does not import the section's schemas (which import the rule compiler, which imports config-types).
 */
export interface NhiConfig {
  readonly policy: NhiPolicy;
  /** Every declared NHI, tenure.yaml's first, then each inventory file's in order. */
  readonly inventory: readonly NhiDeclaration[];
  readonly discover: readonly NhiDiscoveryRule[];
  /** Cron pattern of the `nhi` job: inventory sync, owner succession, expiry warnings (`off`: never). */
  readonly schedule: string;
  /** `nhi.certificates` (docs/certificates.md): absolute paths, and the certificate policy. */
  readonly certificates?: CertificatePolicy & { readonly paths: readonly string[] };
  /** `nhi.rotation` (docs/nhi.md): credential rotation. */
  readonly rotation?: NhiRotationConfig;
}
