package extract

import "testing"

// TestUnresolvedAsFalco: values Falco gives as a value, not as a missing
// field: user.loginname is the string <NA> without a login uid (and root
// for login uid 0 without a passwd entry), and the container image's
// repository and tag are empty on the host.
func TestUnresolvedAsFalco(t *testing.T) {
	runTrace(t, testDeps(t), treeTrace+
		`{"ts": 19000, "type": "execve", "tid": 600, "res": 0, "args": {"exe": "cron", "filename": "/usr/sbin/cron", "loginuid": 4294967295}, "proc": {"ppid": 1, "comm": "cron", "exe": "cron", "cwd": "/", "uid": 0, "gid": 0}}
{"ts": 20000, "type": "execve", "tid": 700, "res": 0, "args": {"exe": "login", "filename": "/bin/login", "loginuid": 0}, "proc": {"ppid": 1, "comm": "login", "exe": "login", "cwd": "/", "uid": 0, "gid": 0}}
`, map[int]map[string]string{
		8:  {"user.loginname": "alice", "container.image.repository": "", "container.image.tag": "", "container.id": "host"},
		16: {"container.image.repository": "nginx", "container.image.tag": "1.27"},
		18: {"user.loginuid": "-1", "user.loginname": "<NA>"},
		19: {"user.loginuid": "0", "user.loginname": "root"},
	})
}

// TestUnknownUserAsFalco: a uid without a passwd entry gives user.name,
// user.homedir and user.shell as Falco 0.44 does: <NA>, and root's name
// and home for uid 0 (libsinsp's sinsp_filter_check_user).
func TestUnknownUserAsFalco(t *testing.T) {
	runTrace(t, testDeps(t), treeTrace+
		`{"ts": 19000, "type": "execve", "tid": 600, "res": 0, "args": {"exe": "x", "filename": "/usr/bin/x", "uid": 4242, "gid": 4242}, "proc": {"ppid": 1, "comm": "x", "exe": "x", "cwd": "/", "uid": 4242, "gid": 4242}}
`, map[int]map[string]string{
		18: {"user.uid": "4242", "user.name": "<NA>", "user.homedir": "<NA>", "user.shell": "<NA>"},
	})
}
