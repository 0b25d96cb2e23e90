package extract

import (
	"github.com/falcoc/falcoc/runtime/state"
)

// The user and group fields use the effective ids: a setuid program runs
// as its owner, as Falco reports it.

func (e *Env) user() (state.User, bool) {
	th := e.thread()
	if th == nil || e.deps.Users == nil {
		return state.User{}, false
	}
	return e.deps.Users.User(th.Proc().ContainerID, th.Pid(), th.Creds.EUID)
}

func userFields(r map[string]builder) {
	r["user.uid"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Creds.EUID) })
	r["user.name"] = strF(func(e *Env) (string, bool) {
		u, ok := e.user()
		return u.Name, ok
	})
	r["user.homedir"] = strF(func(e *Env) (string, bool) {
		u, ok := e.user()
		return u.Home, ok
	})
	r["user.shell"] = strF(func(e *Env) (string, bool) {
		u, ok := e.user()
		return u.Shell, ok
	})
	r["user.loginuid"] = thInt(func(th *state.Thread) int64 { return th.LoginUID() })
	r["user.loginname"] = strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil || e.deps.Users == nil {
			return "", false
		}
		// As Falco: the login user's name, "root" for login uid 0
		// without a passwd entry, else the string <NA> (a value, not a
		// missing field: JSON shows "<NA>", not null).
		if u, ok := e.deps.Users.ThreadLoginUser(th); ok {
			return u.Name, true
		}
		if th.LoginUID() == 0 {
			return "root", true
		}
		return "<NA>", true
	})
	r["group.gid"] = thUint(func(th *state.Thread) uint64 { return uint64(th.Creds.EGID) })
	r["group.name"] = strF(func(e *Env) (string, bool) {
		th := e.thread()
		if th == nil || e.deps.Users == nil {
			return "", false
		}
		g, ok := e.deps.Users.Group(th.Proc().ContainerID, th.Pid(), th.Creds.EGID)
		return g.Name, ok
	})
}
