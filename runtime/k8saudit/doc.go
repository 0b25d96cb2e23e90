// Package k8saudit is the Kubernetes audit log source (`source: k8s_audit`):
// an HTTP webhook that the Kubernetes API server posts audit events to
// (audit.k8s.io/v1 Event objects, one at a time or as an EventList), the
// decoding of those events, and the extraction of the ka.* and jevt.*
// fields that k8s_audit rules read.
//
// Lifecycle: [Listen] opens the socket (an address error is reported
// there), [Server.Serve] answers requests until [Server.Close]. Decoded
// events go through a bounded queue ([Server.Events]); a request whose
// events cannot be queued is answered 503 and counted, never blocked or
// lost silently; a body that is not an Event or EventList is answered 400
// (413 when larger than the limit) and counted. One goroutine takes events
// from the queue and runs the rules with a [Pipeline] (its own VM and
// field extraction, see engine.Source).
//
// Field values follow the audit event JSON:
//
//   - Values are missing when their path is absent, so every comparison
//     on them is false, `!=` included. An empty list is missing too.
//   - JSON numbers and booleans are text in string fields ("201",
//     "true"); objects and arrays are compact JSON (ka.req.configmap.obj,
//     ka.req.role.rules, ka.req.service.ports).
//   - List fields give one value per element: ka.req.pod.containers.*
//     one per container (privileged and read_only_fs default to "false",
//     allow_privilege_escalation to "true", proc_mount to "Default");
//     with [N] they give the Nth value. ka.req.role.rules.verbs and its
//     siblings flatten every rule's list. ka.req.binding.subjects gives
//     the subjects' names.
//   - ka.req.pod.containers.run_as_user/group list only the containers
//     that set one; eff_run_as_user/group has one value per container:
//     the container's, else the pod's, else 0.
//   - The event time is stageTimestamp, else requestReceivedTimestamp,
//     else the time the request was decoded.
//   - The generic evt.* fields (evt.time, evt.rawtime, evt.source,
//     evt.hostname, evt.pluginname "k8saudit", ...) work as for every
//     Falco source; syscall fields are always missing.
package k8saudit
