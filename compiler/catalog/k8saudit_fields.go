package catalog

// Fields of the k8s_audit source, as the k8saudit plugin (0.18) and the
// json plugin (0.7) define them: audit events posted by the Kubernetes
// API server (ka.*) and generic accessors of the JSON event (json.* and
// their older names jevt.*). Every value is text, as in the plugins:
// numbers and booleans compare as strings ("true", "1000").

const listIdx = FlagList // list fields that take an optional [N]

// podContainerFields are the ka.req.pod.<list>.* fields of one of a pod's
// container lists (containers, initContainers, ephemeralContainers).
func podContainerFields(list, what string, hostPort bool) []Field {
	p := "ka.req.pod." + list + "."
	f := func(name, desc string) Field {
		return Field{Name: p + name, Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: desc + " of the pod's " + what}
	}
	fs := []Field{
		f("name", "names"),
		f("image", "images"),
		f("image.repository", "image repositories (the image cut at its first ':' and '@')"),
		f("command", "commands (each one's words joined by spaces)"),
		f("args", "arguments (each one's words joined by spaces)"),
		f("privileged", "securityContext.privileged (set ones only)"),
		f("allow_privilege_escalation", "securityContext.allowPrivilegeEscalation (set ones only)"),
		f("read_only_fs", "securityContext.readOnlyRootFilesystem (set ones only)"),
		f("run_as_user", "securityContext.runAsUser (set ones only)"),
		f("eff_run_as_user", "effective user (one per container, \"0\" by default; see the README on the plugin's path)"),
		f("run_as_group", "securityContext.runAsGroup (set ones only)"),
		f("eff_run_as_group", "effective group (one per container, \"0\" by default; see the README on the plugin's path)"),
		f("proc_mount", "securityContext.procMount (set ones only)"),
		f("add_capabilities", "added capabilities (one JSON array per container)"),
	}
	if hostPort {
		fs = append(fs, f("host_port", "host ports (hostPort, else containerPort)"))
	}
	return fs
}

var k8sAuditFields = concat(
	in(ClassK8sAudit, SourceK8sAudit,
		Field{Name: "ka.auditid", Type: TypeString, Desc: "audit id of the request"},
		Field{Name: "ka.stage", Type: TypeString, Desc: "stage of the request, e.g. ResponseComplete"},
		Field{Name: "ka.auth.decision", Type: TypeString, Desc: "authorization decision (allow or forbid)"},
		Field{Name: "ka.auth.reason", Type: TypeString, Desc: "reason given for the authorization decision"},
		Field{Name: "ka.auth.openshift.decision", Type: TypeString, Desc: "authentication decision of OpenShift's API server extension"},
		Field{Name: "ka.auth.openshift.username", Type: TypeString, Desc: "user OpenShift's authentication acted for"},
		Field{Name: "ka.validations.admission.policy.failure", Type: TypeString, Desc: "failure reported by a validating admission policy"},
		Field{Name: "ka.security.pod.violations", Type: TypeString, Desc: "pod security admission violations"},
		Field{Name: "ka.user.name", Type: TypeString, Desc: "user that sent the request"},
		Field{Name: "ka.user.groups", Type: TypeString, Flags: FlagList, Desc: "groups of the requesting user"},
		Field{Name: "ka.impuser.name", Type: TypeString, Desc: "impersonated user, if any"},
		Field{Name: "ka.verb", Type: TypeString, Desc: "request verb, e.g. create, get, delete"},
		Field{Name: "ka.uri", Type: TypeString, Desc: "request URI"},
		Field{Name: "ka.uri.param", Type: TypeString, Arg: ArgKeyRequired, Desc: "value of one URI query parameter: ka.uri.param[name]"},
		Field{Name: "ka.target.name", Type: TypeString, Desc: "name of the object the request acts on"},
		Field{Name: "ka.target.namespace", Type: TypeString, Desc: "namespace of the target object"},
		Field{Name: "ka.target.resource", Type: TypeString, Desc: "resource kind of the target, e.g. pods"},
		Field{Name: "ka.target.subresource", Type: TypeString, Desc: "subresource of the target, e.g. exec"},
		Field{Name: "ka.target.pod.name", Type: TypeString, Desc: "name of the pod in the response, for requests on pods without a subresource"},
		Field{Name: "ka.req.binding.subjects", Type: TypeString, Flags: FlagList, Desc: "subjects of a (cluster) role binding in the request, as JSON objects"},
		Field{Name: "ka.req.binding.subjects.user_names", Type: TypeString, Flags: FlagList, Desc: "names of the binding's User subjects"},
		Field{Name: "ka.req.binding.subjects.serviceaccount_names", Type: TypeString, Flags: FlagList, Desc: "names of the binding's ServiceAccount subjects"},
		Field{Name: "ka.req.binding.subjects.serviceaccount_ns_names", Type: TypeString, Flags: FlagList, Desc: "the binding's ServiceAccount subjects as namespace:name"},
		Field{Name: "ka.req.binding.subjects.group_names", Type: TypeString, Flags: FlagList, Desc: "names of the binding's Group subjects"},
		Field{Name: "ka.req.binding.role", Type: TypeString, Desc: "role referenced by a role binding in the request"},
		Field{Name: "ka.req.binding.subject.has_name", Type: TypeString, Arg: ArgKeyRequired, Desc: "deprecated: \"true\" as the plugin gives it (see the README)"},
		Field{Name: "ka.req.configmap.name", Type: TypeString, Desc: "name of the target, for config map requests"},
		Field{Name: "ka.req.configmap.obj", Type: TypeString, Desc: "data of the config map in the request as JSON"},
		Field{Name: "ka.req.container.image", Type: TypeString, Desc: "image of the first container (older form of ka.req.pod.containers.image)"},
		Field{Name: "ka.req.container.image.repository", Type: TypeString, Desc: "image repository of the first container (older form)"},
		Field{Name: "ka.req.pod.host_ipc", Type: TypeString, Desc: "hostIPC setting of the pod"},
		Field{Name: "ka.req.pod.host_network", Type: TypeString, Desc: "hostNetwork setting of the pod"},
		Field{Name: "ka.req.container.host_network", Type: TypeString, Desc: "hostNetwork setting (older form of ka.req.pod.host_network)"},
		Field{Name: "ka.req.pod.host_pid", Type: TypeString, Desc: "hostPID setting of the pod"},
		Field{Name: "ka.req.container.privileged", Type: TypeString, Desc: "\"true\" when any container is privileged (older form)"},
		Field{Name: "ka.req.pod.run_as_user", Type: TypeString, Desc: "runAsUser of the pod security context"},
		Field{Name: "ka.req.pod.run_as_group", Type: TypeString, Desc: "runAsGroup of the pod security context"},
		Field{Name: "ka.req.role.rules", Type: TypeString, Flags: FlagList, Desc: "rules of a role in the request, as JSON objects"},
		Field{Name: "ka.req.role.rules.apiGroups", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "API groups named by the role's rules ([N]: rule N's)"},
		Field{Name: "ka.req.role.rules.nonResourceURLs", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "non-resource URLs named by the role's rules ([N]: rule N's)"},
		Field{Name: "ka.req.role.rules.verbs", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "verbs granted by the role's rules ([N]: rule N's)"},
		Field{Name: "ka.req.role.rules.resources", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "resources named by the role's rules ([N]: rule N's)"},
		Field{Name: "ka.req.pod.fs_group", Type: TypeString, Desc: "fsGroup of the pod security context"},
		Field{Name: "ka.req.pod.supplemental_groups", Type: TypeString, Flags: FlagList, Desc: "supplementalGroups of the pod security context"},
		Field{Name: "ka.req.service.type", Type: TypeString, Desc: "type of a service in the request"},
		Field{Name: "ka.req.service.ports", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "ports of a service in the request, as one JSON array"},
		Field{Name: "ka.req.pod.volumes.hostpath", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "host paths mounted as pod volumes ([N]: volume N's)"},
		Field{Name: "ka.req.volume.hostpath", Type: TypeString, Arg: ArgKeyRequired, Desc: "deprecated: \"true\" when the first volume's host path is the argument (a trailing * matches a prefix)"},
		Field{Name: "ka.req.pod.volumes.flexvolume_driver", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "flexVolume drivers of the pod's volumes ([N]: volume N's)"},
		Field{Name: "ka.req.pod.volumes.volume_type", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "kinds of the pod's volumes, e.g. hostPath, secret"},
		Field{Name: "ka.resp.name", Type: TypeString, Desc: "name of the object in the response"},
		Field{Name: "ka.response.code", Type: TypeString, Desc: "HTTP status code of the response"},
		Field{Name: "ka.response.reason", Type: TypeString, Desc: "reason text of the response status"},
		Field{Name: "ka.useragent", Type: TypeString, Desc: "user agent of the client"},
		Field{Name: "ka.sourceips", Type: TypeString, Arg: ArgIndexOptional, Flags: listIdx, Desc: "client addresses of the request (missing, as in the plugin; see the README)"},
		Field{Name: "ka.cluster.name", Type: TypeString, Desc: "cluster name, from the event's cluster_name annotation"},
	),
	in(ClassK8sAudit, SourceK8sAudit, podContainerFields("containers", "containers", true)...),
	in(ClassK8sAudit, SourceK8sAudit, podContainerFields("initContainers", "init containers", true)...),
	in(ClassK8sAudit, SourceK8sAudit, podContainerFields("ephemeralContainers", "ephemeral containers", false)...),
	in(ClassJSONEvent, SourceK8sAudit,
		Field{Name: "json.value", Type: TypeString, Arg: ArgKeyRequired, Desc: "value at a JSON pointer in the event: json.value[/user/username]; objects and arrays as JSON"},
		Field{Name: "json.obj", Type: TypeString, Desc: "the whole event as indented JSON"},
		Field{Name: "json.rawtime", Type: TypeString, Desc: "event time in ns since the epoch, as text"},
		Field{Name: "jevt.value", Type: TypeString, Arg: ArgKeyRequired, Desc: "older name of json.value"},
		Field{Name: "jevt.obj", Type: TypeString, Desc: "older name of json.obj"},
		Field{Name: "jevt.rawtime", Type: TypeString, Desc: "older name of json.rawtime"},
	),
)
