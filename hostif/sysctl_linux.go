//go:build linux

package hostif

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// ipv6Conf is where net.ipv6.conf.* lives. /proc/sys/net resolves to the
// network namespace of the thread that opens the file.
const ipv6Conf = "/proc/sys/net/ipv6/conf"

// EnableForwarding sets IPv6 forwarding (net.ipv6.conf.all.forwarding, and
// net.ipv6.conf.<ifname>.forwarding for each name given, normally the TUN's)
// to enable, and returns a function that puts every value back as it was.
//
// Writing "all" makes the kernel copy the value to "default" and to every
// interface, so restoring "all" alone would also clobber interfaces that had
// their own value (say eth0 forwarding with all off). The restore therefore
// writes "all", then "default", then each interface whose value differs
// from the one recorded before the change. Interfaces created in between
// keep what they got.
//
// Turning forwarding on also changes how the kernel treats router
// advertisements: with accept_ra=1 an interface that forwards ignores them,
// so an uplink configured by SLAAC needs accept_ra=2. That is left to the
// operator.
//
// The restore function may be called more than once; only the first call
// acts. EnableForwarding runs in the network namespace of the calling thread.
func EnableForwarding(enable bool, ifnames ...string) (restore func() error, err error) {
	c, err := changeForwarding(enable, ifnames)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = c.restore() })
		return err
	}, nil
}

// changeForwarding records every forwarding value, then writes the new one.
// If a write fails, what was written is restored.
func changeForwarding(enable bool, ifnames []string) (*forwardingChange, error) {
	old, err := snapshotForwarding()
	if err != nil {
		return nil, err
	}
	c := &forwardingChange{Set: "0", Old: old}
	if enable {
		c.Set = "1"
	}
	if err := c.apply(ifnames); err != nil {
		if rerr := c.restore(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	return c, nil
}

func (c *forwardingChange) apply(ifnames []string) error {
	for _, conf := range append([]string{"all"}, ifnames...) {
		if err := writeForwarding(conf, c.Set); err != nil {
			return err
		}
	}
	return nil
}

// stillSet reports whether "all" still holds the value we set; if not,
// someone changed it after us and a crash cleanup leaves it alone.
func (c *forwardingChange) stillSet() bool {
	v, err := readForwarding("all")
	return err == nil && v == c.Set
}

func (c *forwardingChange) restore() error {
	var errs []error
	for _, sv := range c.Old {
		cur, err := readForwarding(sv.Conf)
		if errors.Is(err, os.ErrNotExist) && sv.Conf != "all" && sv.Conf != "default" {
			continue // the interface has gone
		}
		if err == nil && cur == sv.Value {
			continue
		}
		if err := writeForwarding(sv.Conf, sv.Value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// snapshotForwarding reads forwarding for all, default and every interface,
// in that order.
func snapshotForwarding() ([]sysctlValue, error) {
	ents, err := os.ReadDir(ipv6Conf)
	if err != nil {
		return nil, fmt.Errorf("router: IPv6 forwarding: %w", err)
	}
	confs := []string{"all", "default"}
	for _, e := range ents {
		if n := e.Name(); n != "all" && n != "default" {
			confs = append(confs, n)
		}
	}
	slices.Sort(confs[2:])
	var vals []sysctlValue
	for _, conf := range confs {
		v, err := readForwarding(conf)
		if errors.Is(err, os.ErrNotExist) && conf != "all" && conf != "default" {
			continue // vanished while we looked
		}
		if err != nil {
			return nil, err
		}
		vals = append(vals, sysctlValue{Conf: conf, Value: v})
	}
	return vals, nil
}

func forwardingPath(conf string) string {
	return filepath.Join(ipv6Conf, conf, "forwarding")
}

func readForwarding(conf string) (string, error) {
	b, err := os.ReadFile(forwardingPath(conf))
	if err != nil {
		return "", fmt.Errorf("router: read net.ipv6.conf.%s.forwarding: %w", conf, err)
	}
	return string(bytes.TrimSpace(b)), nil
}

func writeForwarding(conf, v string) error {
	f, err := os.OpenFile(forwardingPath(conf), os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		_, err = f.WriteString(v + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("router: set net.ipv6.conf.%s.forwarding=%s: %w", conf, v, err)
	}
	return nil
}
