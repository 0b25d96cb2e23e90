package containers

import "strings"

// SplitImage splits an image reference
// [registry[:port]/]path[:tag][@digest] into its repository (everything
// before the tag, registry included), tag and digest. A reference without
// a tag and without a digest gets no tag here; see [Lookup] for the
// "latest" default.
//
//	registry.example:5000/team/busybox:1.35@sha256:ab → "registry.example:5000/team/busybox", "1.35", "sha256:ab"
func SplitImage(ref string) (repo, tag, digest string) {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	// The tag follows the last ':' after the last '/'; a ':' before the
	// last '/' belongs to the registry's port.
	slash := strings.LastIndexByte(ref, '/')
	if i := strings.LastIndexByte(ref, ':'); i > slash {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

// setImage fills the image fields of c from the reference ref. An image
// named without tag or digest means its "latest" tag, as docker and
// podman resolve it.
func setImage(c *imageFields, ref string) {
	c.image = ref
	c.repo, c.tag, c.digest = SplitImage(ref)
	if c.tag == "" && c.digest == "" && c.repo != "" {
		c.tag = "latest"
	}
}

// imageFields is the image part of a container, filled by [setImage].
type imageFields struct {
	image, repo, tag, digest string
}

// isImageID reports whether ref names an image by id rather than by
// name: "sha256:<hex>" or a hexadecimal prefix of the image id.
func isImageID(ref, imageID string) bool {
	if strings.HasPrefix(ref, "sha256:") {
		return true
	}
	id := strings.TrimPrefix(imageID, "sha256:")
	return len(ref) >= 12 && isHex(ref) && strings.HasPrefix(id, ref)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

// shortID is container.id for a full id: the first 12 characters of a
// hexadecimal id, any other name unchanged.
func shortID(full string) string {
	if len(full) > 12 && isHex(full) {
		return full[:12]
	}
	return full
}
