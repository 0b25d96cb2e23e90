package state

import (
	"bufio"
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/falcoc/falcoc/runtime/state/container"
)

// User is one /etc/passwd entry.
type User struct {
	UID   uint32
	GID   uint32
	Name  string
	Home  string
	Shell string
}

// Group is one /etc/group entry.
type Group struct {
	GID  uint32
	Name string
}

// Defaults for [UsersOptions].
const (
	DefaultUsersCheckInterval = 5 * time.Second
	DefaultMaxContainerUsers  = 256
)

// UsersOptions configure [Users]. The zero value gives the defaults.
type UsersOptions struct {
	// Root is the host's root directory: the files read are
	// Root/etc/passwd and Root/etc/group. Default "/".
	Root string
	// ProcRoot is where procfs is mounted; a container's files are read
	// from ProcRoot/<pid>/root/etc. Default "/proc".
	ProcRoot string
	// CheckInterval is how often, at most, the files are checked for
	// changes. Default DefaultUsersCheckInterval.
	CheckInterval time.Duration
	// MaxContainers bounds the containers whose user databases are kept.
	// Default DefaultMaxContainerUsers.
	MaxContainers int
	// Now returns the current time; tests set it. Default time.Now.
	Now func() time.Time
}

// Users resolves user and group ids to names for the host and for
// containers. It is safe for concurrent use.
type Users struct {
	opts UsersOptions

	mu         sync.Mutex
	host       *userDB
	containers map[string]*userDB
	// static, when set, answers every lookup (see SetStatic).
	static *userDB
	// Loads counts database (re)loads, for tests and stats.
	loads uint64
}

type userDB struct {
	etc       string // directory holding passwd and group
	users     map[uint32]User
	groups    map[uint32]Group
	stamp     [2]fileStamp
	lastCheck time.Time
	lastUse   time.Time
	// lastMissCheck is when a lookup that missed last checked the files.
	lastMissCheck time.Time
}

type fileStamp struct {
	mtime time.Time
	size  int64
	ino   uint64
}

// NewUsers returns a resolver. opts may be nil. Nothing is read until the
// first lookup.
func NewUsers(opts *UsersOptions) *Users {
	u := &Users{containers: make(map[string]*userDB)}
	if opts != nil {
		u.opts = *opts
	}
	if u.opts.Root == "" {
		u.opts.Root = "/"
	}
	if u.opts.ProcRoot == "" {
		u.opts.ProcRoot = "/proc"
	}
	if u.opts.CheckInterval <= 0 {
		u.opts.CheckInterval = DefaultUsersCheckInterval
	}
	if u.opts.MaxContainers <= 0 {
		u.opts.MaxContainers = DefaultMaxContainerUsers
	}
	if u.opts.Now == nil {
		u.opts.Now = time.Now
	}
	u.host = &userDB{etc: filepath.Join(u.opts.Root, "etc")}
	return u
}

// User returns the user uid of the host ("" or "host" containerID) or of
// a container, whose files are read through the root of process pid.
func (u *Users) User(containerID string, pid int64, uid uint32) (User, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	db := u.db(containerID, pid)
	if db == nil {
		return User{}, false
	}
	usr, ok := db.users[uid]
	if !ok && u.recheck(db) {
		usr, ok = db.users[uid]
	}
	return usr, ok
}

// Group returns the group gid of the host or of a container; see
// [Users.User].
func (u *Users) Group(containerID string, pid int64, gid uint32) (Group, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	db := u.db(containerID, pid)
	if db == nil {
		return Group{}, false
	}
	g, ok := db.groups[gid]
	if !ok && u.recheck(db) {
		g, ok = db.groups[gid]
	}
	return g, ok
}

// ThreadUser returns the user of th's uid (user.name, user.homedir,
// user.shell), looked up where the thread lives.
func (u *Users) ThreadUser(th *Thread) (User, bool) {
	return u.User(th.proc.ContainerID, th.proc.Pid, th.Creds.UID)
}

// ThreadLoginUser returns the user of th's loginuid (user.loginname).
func (u *Users) ThreadLoginUser(th *Thread) (User, bool) {
	if th.proc.LoginUID == 0xffffffff {
		return User{}, false
	}
	return u.User(th.proc.ContainerID, th.proc.Pid, th.proc.LoginUID)
}

// ThreadGroup returns the group of th's gid (group.name).
func (u *Users) ThreadGroup(th *Thread) (Group, bool) {
	return u.Group(th.proc.ContainerID, th.proc.Pid, th.Creds.GID)
}

// Loads returns how many times a database was read.
func (u *Users) Loads() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.loads
}

func (u *Users) db(containerID string, pid int64) *userDB {
	if u.static != nil {
		return u.static
	}
	now := u.opts.Now()
	if containerID == "" || containerID == container.HostID {
		u.refresh(u.host, now)
		return u.host
	}
	db := u.containers[containerID]
	if db == nil {
		if pid <= 0 {
			return nil
		}
		if len(u.containers) >= u.opts.MaxContainers {
			u.evictContainer()
		}
		db = &userDB{etc: filepath.Join(u.opts.ProcRoot, strconv.FormatInt(pid, 10), "root", "etc")}
		u.containers[containerID] = db
	} else if pid > 0 {
		// The process that first showed the container may be gone; read
		// through a live one.
		db.etc = filepath.Join(u.opts.ProcRoot, strconv.FormatInt(pid, 10), "root", "etc")
	}
	db.lastUse = now
	u.refresh(db, now)
	return db
}

func (u *Users) evictContainer() {
	var oldest string
	var t time.Time
	for id, db := range u.containers {
		if oldest == "" || db.lastUse.Before(t) {
			oldest, t = id, db.lastUse
		}
	}
	delete(u.containers, oldest)
}

// ForgetContainer drops a container's cached database (when it stops).
func (u *Users) ForgetContainer(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.containers, id)
}

// refresh reloads db when it was never loaded or, at most once per check
// interval, when a file changed. A file that cannot be read leaves the
// previous content in place.
func (u *Users) refresh(db *userDB, now time.Time) {
	if db.users != nil && now.Sub(db.lastCheck) < u.opts.CheckInterval {
		return
	}
	db.lastCheck = now
	pw, gr := filepath.Join(db.etc, "passwd"), filepath.Join(db.etc, "group")
	stamps := [2]fileStamp{stampOf(pw), stampOf(gr)}
	if db.users != nil && stamps == db.stamp {
		return
	}
	u.loads++
	db.stamp = stamps
	if b, err := os.ReadFile(pw); err == nil {
		db.users = parsePasswd(b)
	} else if db.users == nil {
		db.users = map[uint32]User{}
	}
	if b, err := os.ReadFile(gr); err == nil {
		db.groups = parseGroup(b)
	} else if db.groups == nil {
		db.groups = map[uint32]Group{}
	}
}

// MissRecheckInterval bounds how often a lookup that misses checks the
// files again before the check interval is up.
const MissRecheckInterval = time.Millisecond

// recheck is for a lookup that missed: a user created just before its
// process runs (useradd, then the program) must resolve as Falco resolves
// it, not after the check interval. It reloads db when the files changed,
// checking at most once per MissRecheckInterval, and reports whether it
// reloaded.
func (u *Users) recheck(db *userDB) bool {
	if db == u.static || db.etc == "" {
		return false
	}
	now := u.opts.Now()
	if now.Sub(db.lastMissCheck) < MissRecheckInterval {
		return false
	}
	db.lastMissCheck = now
	loads := u.loads
	db.lastCheck = time.Time{}
	u.refresh(db, now)
	return u.loads != loads
}

func stampOf(name string) fileStamp {
	fi, err := os.Stat(name)
	if err != nil {
		return fileStamp{}
	}
	s := fileStamp{mtime: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// parsePasswd parses /etc/passwd; the first entry of a uid wins.
func parsePasswd(b []byte) map[uint32]User {
	out := make(map[uint32]User)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		if _, dup := out[uint32(uid)]; dup {
			continue
		}
		out[uint32(uid)] = User{UID: uint32(uid), GID: uint32(gid), Name: f[0], Home: f[5], Shell: f[6]}
	}
	return out
}

// parseGroup parses /etc/group; the first entry of a gid wins.
func parseGroup(b []byte) map[uint32]Group {
	out := make(map[uint32]Group)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := out[uint32(gid)]; dup {
			continue
		}
		out[uint32(gid)] = Group{GID: uint32(gid), Name: f[0]}
	}
	return out
}

// SetStatic makes u answer from these users and groups alone, for the
// host and every container, and never read a file: a capture's user
// table (libscap's user list block) replayed elsewhere.
func (u *Users) SetStatic(users []User, groups []Group) {
	u.mu.Lock()
	defer u.mu.Unlock()
	db := &userDB{users: make(map[uint32]User, len(users)), groups: make(map[uint32]Group, len(groups))}
	for _, usr := range users {
		if _, dup := db.users[usr.UID]; !dup {
			db.users[usr.UID] = usr
		}
	}
	for _, g := range groups {
		if _, dup := db.groups[g.GID]; !dup {
			db.groups[g.GID] = g
		}
	}
	u.static = db
}

// HostTable returns the host's users and groups (those of SetStatic when
// set), sorted by id: for a capture's user list.
func (u *Users) HostTable() ([]User, []Group) {
	u.mu.Lock()
	defer u.mu.Unlock()
	db := u.static
	if db == nil {
		u.refresh(u.host, u.opts.Now())
		db = u.host
	}
	users := make([]User, 0, len(db.users))
	for _, usr := range db.users {
		users = append(users, usr)
	}
	groups := make([]Group, 0, len(db.groups))
	for _, g := range db.groups {
		groups = append(groups, g)
	}
	slices.SortFunc(users, func(a, b User) int { return cmp.Compare(a.UID, b.UID) })
	slices.SortFunc(groups, func(a, b Group) int { return cmp.Compare(a.GID, b.GID) })
	return users, groups
}
