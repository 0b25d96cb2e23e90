// Package containers fetches container metadata (name, image, labels,
// privileged, mounts, pod) from the container runtimes' own APIs and
// serves it to the rule engine without ever blocking the event path.
//
// A [Lookup] implements extract.ContainerLookup. [Lookup.Container]
// answers from a bounded in-memory cache; on a miss it queues an
// asynchronous fetch and returns (nil, false) at once, so the fields that
// need metadata are missing for the first events of a new container.
// [Lookup.Prefetch] lets the engine start that fetch as soon as it sees a
// new container (at its first exec), with the full id and the runtime type
// read from the cgroup path, so the metadata is usually cached before a
// rule asks for it.
//
// Backends speak each runtime's own protocol:
//
//   - docker: HTTP over /var/run/docker.sock (GET /containers/<id>/json,
//     and /images/<id>/json for the tag and digest);
//   - podman: the same docker-compatible API on /run/podman/podman.sock
//     when `podman system service` runs, else `podman inspect`;
//   - containerd: `ctr containers info` (the socket speaks gRPC; see
//     [NewContainerd]); containers made through CRI carry the pod name,
//     namespace and uid in their labels;
//   - CRI (cri-o, kubelet-managed containerd): `crictl inspect` when crictl
//     is installed.
//
// Fetches run on a fixed number of worker goroutines, each bounded by a
// timeout; failures are cached for a while (negative caching) and counted
// in [Stats]. A Lookup must be closed with [Lookup.Close], which stops the
// workers.
package containers
