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
// lost silently. One goroutine takes events from the queue, points an
// [Env] at each with [Env.Reset] and runs the rules (engine.Source).
package k8saudit
