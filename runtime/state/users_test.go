package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeEtc(t *testing.T, root, passwd, group string) {
	t.Helper()
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
}

const fakePasswd = `# comment
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh
shadowalice:x:1000:1000::/nowhere:/bin/false
broken:x:notanumber:1::/:/bin/sh
short:x:5
+nisuser::::::

`

const fakeGroup = `root:x:0:
adm:x:4:alice
alice:x:1000:
bad:x:-1:
`

func TestUsersHost(t *testing.T) {
	root := t.TempDir()
	writeEtc(t, root, fakePasswd, fakeGroup)
	u := NewUsers(&UsersOptions{Root: root})
	tests := []struct {
		uid    uint32
		want   User
		wantOK bool
	}{
		{0, User{UID: 0, GID: 0, Name: "root", Home: "/root", Shell: "/bin/bash"}, true},
		{1000, User{UID: 1000, GID: 1000, Name: "alice", Home: "/home/alice", Shell: "/bin/zsh"}, true},
		{1, User{UID: 1, GID: 1, Name: "daemon", Home: "/usr/sbin", Shell: "/usr/sbin/nologin"}, true},
		{5, User{}, false},
		{4242, User{}, false},
	}
	for _, tc := range tests {
		got, ok := u.User("host", 1, tc.uid)
		if ok != tc.wantOK {
			t.Errorf("User(%d) ok = %v", tc.uid, ok)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("User(%d) (-want +got):\n%s", tc.uid, diff)
		}
	}
	groups := map[uint32]string{}
	for _, gid := range []uint32{0, 4, 1000, 7} {
		if g, ok := u.Group("", 0, gid); ok {
			groups[gid] = g.Name
		}
	}
	if diff := cmp.Diff(map[uint32]string{0: "root", 4: "adm", 1000: "alice"}, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if got := u.Loads(); got != 1 {
		t.Errorf("Loads = %d, want 1", got)
	}
}

func TestUsersReload(t *testing.T) {
	root := t.TempDir()
	writeEtc(t, root, "root:x:0:0:root:/root:/bin/sh\n", "root:x:0:\n")
	now := time.Unix(1000, 0)
	u := NewUsers(&UsersOptions{Root: root, CheckInterval: 5 * time.Second, Now: func() time.Time { return now }})
	if usr, _ := u.User("", 0, 0); usr.Shell != "/bin/sh" {
		t.Fatalf("shell = %q", usr.Shell)
	}
	writeEtc(t, root, "root:x:0:0:root:/root:/bin/bash\nbob:x:7:7::/home/bob:/bin/sh\n", "root:x:0:\n")
	now = now.Add(time.Second)
	if usr, _ := u.User("", 0, 0); usr.Shell != "/bin/sh" {
		t.Errorf("reloaded before the check interval: shell = %q", usr.Shell)
	}
	now = now.Add(5 * time.Second)
	if usr, _ := u.User("", 0, 0); usr.Shell != "/bin/bash" {
		t.Errorf("not reloaded after the check interval: shell = %q", usr.Shell)
	}
	if _, ok := u.User("", 0, 7); !ok {
		t.Errorf("new user bob not found")
	}
	// Unchanged files are not read again.
	now = now.Add(10 * time.Second)
	u.User("", 0, 0)
	if got := u.Loads(); got != 2 {
		t.Errorf("Loads = %d, want 2", got)
	}
	// A file that disappears keeps the last content.
	if err := os.Remove(filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Second)
	if _, ok := u.User("", 0, 7); !ok {
		t.Errorf("bob lost when passwd disappeared")
	}
}

func TestUsersContainer(t *testing.T) {
	// A fake procfs: <proc>/<pid>/root/etc/passwd.
	proc := t.TempDir()
	writeEtc(t, filepath.Join(proc, "42", "root"), "app:x:0:0:app:/app:/bin/ash\n", "wheel:x:0:\n")
	writeEtc(t, filepath.Join(proc, "43", "root"), "other:x:0:0::/o:/bin/sh\n", "g:x:0:\n")
	host := t.TempDir()
	writeEtc(t, host, "root:x:0:0:root:/root:/bin/bash\n", "root:x:0:\n")
	u := NewUsers(&UsersOptions{Root: host, ProcRoot: proc, MaxContainers: 1})
	tests := []struct {
		name, id string
		pid      int64
		want     string
		wantOK   bool
	}{
		{"container", "c1", 42, "app", true},
		{"host", "host", 42, "root", true},
		{"second container evicts the first", "c2", 43, "other", true},
		{"unknown container without pid", "c3", 0, "", false},
		{"container whose process is gone", "c4", 99, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			usr, ok := u.User(tc.id, tc.pid, 0)
			if ok != tc.wantOK || usr.Name != tc.want {
				t.Errorf("User = %q, %v, want %q, %v", usr.Name, ok, tc.want, tc.wantOK)
			}
		})
	}
	if n := len(u.containers); n != 1 {
		t.Errorf("containers cached = %d, want 1 (bounded)", n)
	}
	if g, ok := u.Group("c2", 43, 0); !ok || g.Name != "g" {
		t.Errorf("Group = %v, %v", g, ok)
	}
	u.ForgetContainer("c2")
	u.ForgetContainer("c4")
	if n := len(u.containers); n != 0 {
		t.Errorf("containers after forget = %d", n)
	}
}

func TestUsersRealHost(t *testing.T) {
	u := NewUsers(nil)
	usr, ok := u.User("host", 0, 0)
	if !ok || usr.Name != "root" {
		t.Errorf("uid 0 on the host = %q, %v, want root", usr.Name, ok)
	}
	g, ok := u.Group("host", 0, 0)
	if !ok || g.Name != "root" {
		t.Errorf("gid 0 on the host = %q, %v, want root", g.Name, ok)
	}
	// Through /proc/self/root as a container would be read.
	usr, ok = u.User("selfroot", int64(os.Getpid()), 0)
	if !ok || usr.Name != "root" {
		t.Errorf("uid 0 through /proc/<pid>/root = %q, %v, want root", usr.Name, ok)
	}
}

func TestThreadUsers(t *testing.T) {
	root := t.TempDir()
	writeEtc(t, root, fakePasswd, fakeGroup)
	u := NewUsers(&UsersOptions{Root: root})
	tb := newTestTable(nil)
	th := tb.Exec(1, 10, "/bin/sh", []string{"sh"}, nil, ExecInfo{
		Known: ExecCreds | ExecLoginUID, Creds: Creds{UID: 1000, GID: 4}, LoginUID: 0,
	})
	th.Proc().ContainerID = "host"
	type uview struct{ User, Login, Group string }
	var got uview
	if x, ok := u.ThreadUser(th); ok {
		got.User = x.Name
	}
	if x, ok := u.ThreadLoginUser(th); ok {
		got.Login = x.Name
	}
	if x, ok := u.ThreadGroup(th); ok {
		got.Group = x.Name
	}
	if diff := cmp.Diff(uview{"alice", "root", "adm"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	tb.Exec(2, 10, "/bin/sh", []string{"sh"}, nil, ExecInfo{Known: ExecLoginUID, LoginUID: 0xffffffff})
	if _, ok := u.ThreadLoginUser(th); ok || th.LoginUID() != -1 {
		t.Errorf("unset loginuid: LoginUID = %d, login user found = %v", th.LoginUID(), ok)
	}
}

// TestUsersNewUserResolves: a user added to /etc/passwd just before its
// process runs resolves at once (issue 13 part 6: it was unknown for up
// to the 5 s check interval), while lookups that hit never re-read, and
// misses re-check the files at most once per MissRecheckInterval.
func TestUsersNewUserResolves(t *testing.T) {
	root := t.TempDir()
	writeEtc(t, root, "root:x:0:0:root:/root:/bin/sh\n", "root:x:0:\n")
	now := time.Unix(1000, 0)
	u := NewUsers(&UsersOptions{Root: root, CheckInterval: 5 * time.Second, Now: func() time.Time { return now }})
	if _, ok := u.User("", 0, 4321); ok {
		t.Fatal("uid 4321 found before it exists")
	}
	now = now.Add(100 * time.Millisecond)
	writeEtc(t, root, "root:x:0:0:root:/root:/bin/sh\nsvc:x:4321:4321::/nonexistent:/usr/sbin/nologin\n", "root:x:0:\nsvc:x:4321:\n")
	now = now.Add(100 * time.Millisecond)
	usr, ok := u.User("", 0, 4321)
	if !ok || usr.Name != "svc" {
		t.Fatalf("new user: %+v, %v; want svc at once", usr, ok)
	}
	if g, ok := u.Group("", 0, 4321); !ok || g.Name != "svc" {
		t.Fatalf("new group: %+v, %v", g, ok)
	}
	loads := u.Loads()
	for range 10 {
		u.User("", 0, 0)     // hits: no check
		u.User("", 0, 99999) // misses within the same instant: one check at most
	}
	if got := u.Loads(); got != loads {
		t.Errorf("Loads went from %d to %d with unchanged files", loads, got)
	}
}
