package containers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/falcoc/falcoc/runtime/state/container"
)

// dockerEvent is one line of docker's /events stream.
type dockerEvent struct {
	Type   string
	Action string
	Actor  struct{ ID string }
}

// watchDocker follows docker's container events until the Lookup closes,
// reconnecting with a growing delay (up to one second: a daemon that
// starts late must be followed before its first container runs) when the
// daemon is absent or the stream ends.
func (l *Lookup) watchDocker(api *apiClient) {
	defer l.wg.Done()
	delay := 100 * time.Millisecond
	for l.ctx.Err() == nil {
		if l.followDocker(api) {
			delay = 100 * time.Millisecond
		} else {
			delay = min(2*delay, time.Second)
		}
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// dockerEventsPath asks for container events only.
var dockerEventsPath = "/events?filters=" + url.QueryEscape(`{"type":["container"]}`)

// followDocker reads one events stream until it ends. It reports whether
// the daemon answered.
func (l *Lookup) followDocker(api *apiClient) bool {
	req, err := http.NewRequestWithContext(l.ctx, http.MethodGet, "http://localhost"+dockerEventsPath, nil)
	if err != nil {
		return false
	}
	resp, err := api.http.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev dockerEvent
		if err := dec.Decode(&ev); err != nil {
			return true
		}
		if ev.Type != "container" || !validID(ev.Actor.ID) {
			continue
		}
		l.events.Add(1)
		switch ev.Action {
		case "create", "start", "rename":
			// create: name, image, privileged, mounts and labels are set;
			// start adds the address and start time.
			l.refresh(ev.Actor.ID, container.TypeDocker)
		case "destroy":
			l.forget(ev.Actor.ID)
		}
	}
}
