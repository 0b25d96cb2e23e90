package output

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

// DefaultSyslogAddress is the local syslog socket.
const DefaultSyslogAddress = "/dev/log"

// syslogFacilityUser is LOG_USER, the facility syslog(3) uses by default.
const syslogFacilityUser = 1 << 3

// SyslogConfig configures [NewSyslog] (falco.yaml syslog_output).
type SyslogConfig struct {
	// Address is the unix datagram socket; "" is [DefaultSyslogAddress].
	Address string
	// Tag is the program name in each record; "" is "falco".
	Tag string
	// Now returns the record time; nil is time.Now.
	Now func() time.Time
}

type syslogChannel struct {
	cfg  SyslogConfig
	conn *net.UnixConn
	pid  int
	buf  []byte
}

// NewSyslog returns a channel sending each alert as one datagram to the
// local syslog socket, formatted as syslog(3) does:
// "<PRI>Mmm dd hh:mm:ss tag[pid]: line", with facility LOG_USER and the
// severity equal to the alert's priority. The socket is (re)connected lazily,
// so a syslog daemon that starts or restarts later is picked up.
func NewSyslog(cfg SyslogConfig) Channel {
	if cfg.Address == "" {
		cfg.Address = DefaultSyslogAddress
	}
	if cfg.Tag == "" {
		cfg.Tag = "falco"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &syslogChannel{cfg: cfg, pid: os.Getpid()}
}

func (c *syslogChannel) Name() string { return "syslog" }

func (c *syslogChannel) Write(_ context.Context, m *Message) error {
	if c.conn == nil {
		conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: c.cfg.Address, Net: "unixgram"})
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			// No syslog daemon: syslog(3), which Falco uses, drops the
			// record without an error.
			return fmt.Errorf("connect to syslog: %w: %w", ErrNoReceiver, err)
		}
		if err != nil {
			return fmt.Errorf("connect to syslog: %w", err)
		}
		c.conn = conn
	}
	p := m.Priority
	if !p.Valid() {
		p = PriorityDebug
	}
	b := append(c.buf[:0], '<')
	b = strconv.AppendInt(b, int64(syslogFacilityUser|int(p)), 10)
	b = append(b, '>')
	b = c.cfg.Now().AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	b = append(b, c.cfg.Tag...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(c.pid), 10)
	b = append(b, "]: "...)
	b = append(b, m.Line...)
	c.buf = b
	if _, err := c.conn.Write(b); err != nil {
		c.conn.Close()
		c.conn = nil
		return fmt.Errorf("write to syslog: %w", err)
	}
	return nil
}

func (c *syslogChannel) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	if err != nil {
		return fmt.Errorf("close syslog: %w", err)
	}
	return nil
}
