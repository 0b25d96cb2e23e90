// Package containers fetches container metadata (name, image, labels,
// privileged, mounts, pod) from the container runtimes' own APIs and
// serves it to the rule engine.
//
// A [Lookup] implements extract.ContainerLookup. [Lookup.Container]
// answers from a bounded in-memory cache. On a miss it queues an
// asynchronous fetch; the only time it waits is for a container whose
// first fetch is in flight, and then at most [Options.FirstWait] (250ms)
// in all for that container (and all waits together at most a tenth of
// the time, in bursts up to a second), so that the alert on a container's first
// exec carries its metadata, as Falco's does. Most containers are cached
// before their first process runs: the Lookup follows the runtimes'
// create events (docker's and podman's /events streams, containerd's event
// service) and fetches a container as soon as it is created.
// [Lookup.Prefetch] starts a fetch for a container the engine has just
// seen, with the full id and the runtime type read from the cgroup path.
//
// Backends speak each runtime's own protocol on its socket; the sockets
// are Options fields, set from the container plugin's init_config
// (engines.docker.sockets, engines.podman.sockets,
// engines.containerd.sockets, engines.cri.sockets) by
// [Options.ApplyInitConfig], and looked for below HOST_ROOT:
//
//   - docker: HTTP over the socket (GET /containers/<id>/json, and
//     /images/<id>/json for the tag and digest);
//   - podman: the same docker-compatible API on podman's socket (served by
//     `podman system service` or podman.socket);
//   - CRI (containerd's CRI plugin, CRI-O): gRPC with k8s.io/cri-api:
//     ListContainers, ContainerStatus and PodSandboxStatus give the pod's
//     name, namespace, uid, labels and IP, the host namespaces, the image,
//     mounts and privileged flag; container.type is the runtime's name;
//   - containerd (containers made without CRI): containerd's own gRPC API,
//     Containers/Get, in the configured namespaces.
//
// Fetches run on a fixed number of worker goroutines, each bounded by a
// timeout; failures are cached for a while (negative caching) and counted
// in [Stats]. A Lookup must be closed with [Lookup.Close], which stops the
// workers and the event streams and closes the connections.
package containers
