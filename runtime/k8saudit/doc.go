// Package k8saudit is the Kubernetes audit log source (`source: k8s_audit`):
// an HTTP webhook that the Kubernetes API server posts audit events to,
// the decoding of those events, and the extraction of the fields of the
// k8saudit plugin (ka.*, version 0.18) and of the json plugin (json.* and
// jevt.*, version 0.7) that k8s_audit rules read.
//
// Lifecycle: [Listen] opens the socket (an address error is reported
// there), [Server.Serve] answers requests until [Server.Close]. Decoded
// events go through a bounded queue ([Server.Events]); a request whose
// events cannot be queued is answered 503 and counted, never blocked or
// lost silently. One goroutine takes events from the queue and runs the
// rules with a [Pipeline] (its own VM and field extraction, see
// engine.Source).
//
// Bodies are decoded as the plugin decodes them ([Decode]): an Event, an
// EventList or a JSON array of them. Anything else is refused whole with
// the plugin's "data not recognized as a k8s audit event"; an event
// without stageTimestamp ("can't read stageTimestamp"), larger than the
// plugin's maxEventSize, or (unlike the plugin) a list item whose kind is
// not "Event" is refused alone. Refusals are counted as malformed and
// logged; a refused event is never evaluated.
//
// Field values follow the plugins' code, not only their descriptions:
//
//   - Every value is text: strings as they are, other JSON values as
//     their compact JSON with the event's key order ("1000", "true",
//     `[{"port":80}]`). A value whose path is absent is missing, so every
//     comparison on it is false, `!=` included; a list with no element is
//     missing too. ka.* fields are missing on an event without auditID.
//   - List fields are lists with an index too: [N] selects the Nth element
//     of the first JSON array on the field's path (the Nth container,
//     volume or role rule), as the plugin's getValuesRecursive does.
//   - ka.sourceips, eff_run_as_user/group and binding.subject.has_name
//     are wrong in the plugin; [EnvOptions.Corrected] chooses between its
//     values (the default) and their described meaning.
//   - The event time is stageTimestamp. The generic evt.* fields
//     (evt.time, evt.rawtime, evt.source, evt.hostname, evt.pluginname
//     "k8saudit", ...) work as for every Falco source; syscall fields are
//     always missing.
package k8saudit
