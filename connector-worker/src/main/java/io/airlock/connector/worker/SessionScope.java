package io.airlock.connector.worker;

import io.airlock.core.audit.AuditTrail;
import io.airlock.core.sandbox.SandboxService;

/**
 * What the parts of one session's work share: the API with the item's credential, the session's
 * sandbox, and the audit trail.
 */
record SessionScope(WorkQueueApi api, Credential token, SandboxService sandboxes, String sandboxId, AuditTrail audit,
        WorkQueueApi.Work work) {}
