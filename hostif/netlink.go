package hostif

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// Config is what Configure makes of the TUN interface.
type Config struct {
	// MTU of the interface; 0 leaves it as it is (OpenTUN already set one).
	MTU int

	// Addrs are the router's own addresses on the interface, typically one
	// in the mesh prefix (2001:db8:1::1/64). IPv6 only; they are added with
	// IFA_F_NODAD so that they are usable at once (the TUN has no link on
	// which a duplicate could answer; the mesh's duplicate detection is
	// RFC 8505 registration, not RFC 4862 DAD).
	Addrs []netip.Prefix

	// Routes are prefixes routed to the interface, typically the mesh
	// prefix. IPv6 only; host bits are ignored. They go into the main table
	// with metric 1024 (the kernel's default for user routes) and protocol
	// static.
	Routes []netip.Prefix

	// Up raises the interface if it is down.
	Up bool

	// Forwarding turns IPv6 forwarding on (all interfaces, and this one);
	// Undo restores every interface's previous value, unless
	// net.ipv6.conf.all.forwarding no longer holds the value we set.
	Forwarding bool

	// LinkLocal, when valid, is the interface's only link-local address:
	// the kernel's address generation is turned off on it
	// (IN6_ADDR_GEN_MODE_NONE) before it goes up, link-local addresses the
	// kernel made are removed, and LinkLocal/64 is added (recorded like
	// Addrs). The 6LBR's link-local address derives from the radio's
	// EUI-64; a stable-privacy address the kernel made up would send RS and
	// MLD reports into the mesh from an identity the 6LBR does not have and
	// no node can answer at the link layer. Only for interfaces that are
	// ours (the TUN): the generation mode is not restored by Undo.
	LinkLocal netip.Addr

	// StateFile, when set, is where Configure records what it changes,
	// before it changes it, so that CleanupStale can undo it after a crash.
	// The file is written atomically and deleted by a successful Undo.
	StateFile string
}

// routeMetric is the metric of the routes Configure adds: the kernel's
// default for IPv6 routes added by a user (IP6_RT_PRIO_USER). The kernel's
// own prefix route for an address has metric 256, so both can coexist and
// Undo removes only ours.
const routeMetric = 1024

// ErrCorruptStateFile is returned by CleanupStale when the state file cannot
// be understood; the file has been renamed with a ".corrupt" suffix.
var ErrCorruptStateFile = errors.New("router: corrupt link state file")

// Applied is what Configure changed; Undo reverses exactly that.
type Applied struct {
	mu        sync.Mutex
	state     linkState // what has been applied, and is still to undo
	stateFile string
	undone    bool
	sys       appliedSys // per-OS: the netlink handle on Linux
}

// Link is the name of the configured interface.
func (a *Applied) Link() string { return a.state.Link }

// Addrs are the addresses Configure added (those already present are not
// listed: Undo leaves them).
func (a *Applied) Addrs() []netip.Prefix {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.state.Addrs)
}

// Routes are the routes Configure added.
func (a *Applied) Routes() []netip.Prefix {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ps []netip.Prefix
	for _, r := range a.state.Routes {
		ps = append(ps, r.Dst)
	}
	return ps
}

// StaleReport says what CleanupStale found and did.
type StaleReport struct {
	// StateFound is false when there was no state file: the previous run
	// ended cleanly, or never configured anything.
	StateFound bool

	// PID and Link are the process that wrote the state file and the
	// interface it configured.
	PID  int
	Link string

	// Gone says why nothing was left on the interface, if so: it no longer
	// exists, or another interface now has its name (a new index), or the
	// host rebooted, or the state belongs to another network namespace.
	// A TUN without IFF_PERSIST vanishes with its process, taking its
	// addresses and routes with it.
	Gone string

	// Undone lists what was still as the previous run left it and has been
	// removed or restored.
	Undone []string

	// Left lists what was recorded but has changed since (someone else
	// set it), so was left alone.
	Left []string

	// Occupant describes what holds the name passed to CleanupStale after
	// the cleanup: "" when the name is free, else for example "persistent
	// tun, 0 queues attached" or "dummy (not a TUN)". OpenTUN attaches to
	// a persistent TUN nobody holds and fails on anything else.
	Occupant string
}

// linkState is the state file: what Configure changed, recorded before
// each change so that a crash at any point leaves a superset of the changes
// on disk. Undoing an item that was recorded but never applied finds it
// absent and skips it.
type linkState struct {
	Version int    `json:"version"`
	PID     int    `json:"pid"`
	BootID  string `json:"boot_id"` // a reboot undoes everything
	NetNS   uint64 `json:"netns"`   // inode of the network namespace
	Link    string `json:"link"`    // name and index together identify the interface;
	Index   int    `json:"ifindex"` // a new interface of the same name has another index

	MTU        *mtuChange        `json:"mtu,omitempty"`
	SetUp      bool              `json:"set_up,omitempty"`
	Addrs      []netip.Prefix    `json:"addrs,omitempty"`
	Routes     []routeKey        `json:"routes,omitempty"`
	Forwarding *forwardingChange `json:"forwarding,omitempty"`
}

const stateVersion = 1

type mtuChange struct {
	Old int `json:"old"`
	Set int `json:"set"`
}

type routeKey struct {
	Dst    netip.Prefix `json:"dst"`
	Metric int          `json:"metric"`
	Table  int          `json:"table"`
}

// forwardingChange is a change of net.ipv6.conf.*.forwarding: the value set
// on "all" (and the listed interfaces), and every value before it, in the
// order a restore writes them: all, default, then each interface.
type forwardingChange struct {
	Set string        `json:"set"`
	Old []sysctlValue `json:"old"`
}

type sysctlValue struct {
	Conf  string `json:"conf"` // "all", "default" or an interface name
	Value string `json:"value"`
}

func (s *linkState) empty() bool {
	return s.MTU == nil && !s.SetUp && len(s.Addrs) == 0 && len(s.Routes) == 0 && s.Forwarding == nil
}

// writeStateFile replaces path atomically: a reader sees the old file or the
// new one, never a mixture, even if we crash or lose power mid-write.
func writeStateFile(path string, st *linkState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return fmt.Errorf("router: write state %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("router: write state %s: %w", path, err)
	}
	// The rename is durable only once the directory is.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readStateFile reads a state file; a missing file is (nil, nil). A file that
// cannot be parsed is renamed aside and reported as ErrCorruptStateFile.
func readStateFile(path string) (*linkState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("router: read state %s: %w", path, err)
	}
	var st linkState
	err = json.Unmarshal(b, &st)
	switch {
	case err != nil:
	case st.Version != stateVersion:
		err = fmt.Errorf("version %d, want %d", st.Version, stateVersion)
	case st.Link == "" || st.Index <= 0:
		err = errors.New("no interface name or index")
	}
	if err != nil {
		aside := path + ".corrupt"
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("%w %s (%v), and could not move it aside: %v", ErrCorruptStateFile, path, err, rerr)
		}
		return nil, fmt.Errorf("%w %s (%v); moved to %s", ErrCorruptStateFile, path, err, aside)
	}
	return &st, nil
}

// validate checks a Config before anything is changed.
func (c *Config) validate() error {
	if c.MTU != 0 && (c.MTU < tunMinMTU || c.MTU > tunMaxMTU) {
		return fmt.Errorf("MTU %d outside %d..%d", c.MTU, tunMinMTU, tunMaxMTU)
	}
	for _, p := range c.Addrs {
		if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return fmt.Errorf("address %v: not an IPv6 prefix", p)
		}
	}
	for _, p := range c.Routes {
		if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return fmt.Errorf("route %v: not an IPv6 prefix", p)
		}
	}
	if c.LinkLocal.IsValid() && (!c.LinkLocal.Is6() || !c.LinkLocal.IsLinkLocalUnicast() || c.LinkLocal.Zone() != "") {
		return fmt.Errorf("link-local address %v: not an IPv6 link-local unicast address", c.LinkLocal)
	}
	return nil
}
