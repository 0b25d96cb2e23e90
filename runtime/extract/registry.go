package extract

// registry maps each supported catalog field name to the builder of its
// extractor.
var registry = func() map[string]builder {
	r := make(map[string]builder, 256)
	evtFields(r)
	fsPathFields(r)
	procFields(r)
	userFields(r)
	fdFields(r)
	containerFields(r)
	for _, name := range deprecatedK8s {
		r[name] = none
	}
	return r
}()

// unsupported lists the syscall-source catalog fields falcoc has no real
// extractor for, with the reason. They are accepted in rules and are
// always missing (so every comparison on them is false).
var unsupported = map[string]string{
	"evt.around": "needs a time window around a capture position; Falco only supports it when reading capture files",

	"thread.exectime":    "needs scheduler switch events, which falcoc does not capture",
	"thread.totexectime": "needs scheduler switch events, which falcoc does not capture",
	"thread.cpu":         "needs periodic CPU usage sampling, which falcoc does not do",
	"thread.cpu.user":    "needs periodic CPU usage sampling, which falcoc does not do",
	"thread.cpu.system":  "needs periodic CPU usage sampling, which falcoc does not do",

	"fd.cip.name": "needs a DNS reverse lookup cache, which falcoc does not keep",
	"fd.sip.name": "needs a DNS reverse lookup cache, which falcoc does not keep",
	"fd.lip.name": "needs a DNS reverse lookup cache, which falcoc does not keep",
	"fd.rip.name": "needs a DNS reverse lookup cache, which falcoc does not keep",

	"fd.proto": "needs a port-to-service table (/etc/services), not loaded yet",

	"fdlist.nums":   "poll's FDLIST parameter is not decoded",
	"fdlist.names":  "poll's FDLIST parameter is not decoded",
	"fdlist.cips":   "poll's FDLIST parameter is not decoded",
	"fdlist.sips":   "poll's FDLIST parameter is not decoded",
	"fdlist.cports": "poll's FDLIST parameter is not decoded",
	"fdlist.sports": "poll's FDLIST parameter is not decoded",
}

// deprecatedK8s are the k8s.* fields the container plugin no longer
// fills (they came from the removed Kubernetes metadata client); they are
// always missing, as in Falco 0.44.
var deprecatedK8s = []string{
	"k8s.rc.name", "k8s.rc.id", "k8s.rc.label", "k8s.rc.labels",
	"k8s.svc.name", "k8s.svc.id", "k8s.svc.label", "k8s.svc.labels",
	"k8s.ns.id", "k8s.ns.label", "k8s.ns.labels",
	"k8s.rs.name", "k8s.rs.id", "k8s.rs.label", "k8s.rs.labels",
	"k8s.deployment.name", "k8s.deployment.id", "k8s.deployment.label", "k8s.deployment.labels",
}
