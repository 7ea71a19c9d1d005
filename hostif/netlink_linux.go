//go:build linux

package hostif

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lowpanbr/lowpanbr/internal/netlinkx"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// appliedSys holds the netlink socket Configure used. It is bound to the
// network namespace Configure ran in, so Undo reaches the same
// interfaces from any thread.
type appliedSys struct {
	h *netlink.Handle
}

// Configure configures the interface called name (normally the TUN from
// OpenTUN) as cfg says, changing only what differs, and returns a record of
// the changes for Undo. In order: MTU, link up, addresses, routes, IPv6
// forwarding. An address or route that is already there is left out of the
// record, so Undo leaves it too. If a step fails, the steps before it are
// undone and the error says what failed.
//
// With cfg.StateFile set, the planned changes are written to that file
// before the first one is made; a state file that already exists means a
// previous run did not clean up, and Configure refuses until
// CleanupStale has dealt with it.
//
// Configure works in the network namespace of the calling thread.
func Configure(name string, cfg Config) (*Applied, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("router: configure %s: %w", name, err)
	}
	if cfg.StateFile != "" {
		if _, err := os.Lstat(cfg.StateFile); err == nil {
			return nil, fmt.Errorf("router: configure %s: state file %s exists (a previous run did not clean up); call CleanupStale first", name, cfg.StateFile)
		}
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("router: configure %s: netlink: %w", name, err)
	}
	a, err := configure(h, name, &cfg)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("router: configure %s: %w", name, err)
	}
	return a, nil
}

func configure(h *netlink.Handle, name string, cfg *Config) (*Applied, error) {
	link, err := netlinkx.RetryDump("find link", func() (netlink.Link, error) { return h.LinkByName(name) })
	if err != nil {
		return nil, err
	}
	attrs := link.Attrs()
	boot, ns := currentIdentity()
	plan := linkState{Version: stateVersion, PID: os.Getpid(), BootID: boot, NetNS: ns, Link: attrs.Name, Index: attrs.Index}
	if cfg.MTU != 0 && attrs.MTU != cfg.MTU {
		plan.MTU = &mtuChange{Old: attrs.MTU, Set: cfg.MTU}
	}
	plan.SetUp = cfg.Up && attrs.Flags&net.FlagUp == 0
	addrs, err := listAddrs(h, link)
	if err != nil {
		return nil, err
	}
	want := slices.Clone(cfg.Addrs)
	if cfg.LinkLocal.IsValid() {
		// Before the link goes up (apply), or the kernel makes its own.
		if err := h.LinkSetIP6AddrGenMode(link, in6AddrGenModeNone); err != nil {
			return nil, fmt.Errorf("turn off link-local address generation: %w", err)
		}
		ll := netip.PrefixFrom(cfg.LinkLocal, 64)
		for _, a := range addrs {
			if p := addrPrefix(a); p.Addr().IsLinkLocalUnicast() && p != ll {
				if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
					return nil, fmt.Errorf("remove the kernel's link-local address %v: %w", p, err)
				}
			}
		}
		want = append(want, ll)
	}
	for _, p := range want {
		if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return addrPrefix(a) == p }) && !slices.Contains(plan.Addrs, p) {
			plan.Addrs = append(plan.Addrs, p)
		}
	}
	routes, err := listRoutes(h, attrs.Index)
	if err != nil {
		return nil, err
	}
	for _, p := range cfg.Routes {
		k := routeKey{Dst: p.Masked(), Metric: routeMetric, Table: unix.RT_TABLE_MAIN}
		if _, ok := findRoute(routes, k); !ok && !slices.Contains(plan.Routes, k) {
			plan.Routes = append(plan.Routes, k)
		}
	}
	if cfg.Forwarding {
		old, err := snapshotForwarding()
		if err != nil {
			return nil, err
		}
		plan.Forwarding = &forwardingChange{Set: "1", Old: old}
	}

	a := &Applied{stateFile: cfg.StateFile, sys: appliedSys{h: h}}
	a.state = linkState{Version: plan.Version, PID: plan.PID, BootID: plan.BootID, NetNS: plan.NetNS, Link: plan.Link, Index: plan.Index}
	if plan.empty() {
		a.stateFile = "" // nothing to undo, nothing to record
		return a, nil
	}
	if a.stateFile != "" {
		if err := writeStateFile(a.stateFile, &plan); err != nil {
			return nil, err
		}
	}
	if err := a.apply(link, &plan); err != nil {
		if uerr := a.undoLocked(); uerr != nil {
			err = errors.Join(err, fmt.Errorf("undoing the steps before: %w", uerr))
		}
		return nil, err
	}
	// Something planned may have appeared meanwhile and been left out.
	if a.stateFile != "" && !reflect.DeepEqual(a.state, plan) {
		if err := writeStateFile(a.stateFile, &a.state); err != nil {
			return nil, errors.Join(err, a.undoLocked())
		}
	}
	return a, nil
}

// apply makes the planned changes, recording in a.state each one as it
// succeeds.
func (a *Applied) apply(link netlink.Link, plan *linkState) error {
	h := a.sys.h
	if plan.MTU != nil {
		if err := h.LinkSetMTU(link, plan.MTU.Set); err != nil {
			return fmt.Errorf("set MTU %d: %w", plan.MTU.Set, err)
		}
		a.state.MTU = plan.MTU
	}
	if plan.SetUp {
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("set link up: %w", err)
		}
		a.state.SetUp = true
	}
	for _, p := range plan.Addrs {
		err := h.AddrAdd(link, &netlink.Addr{IPNet: prefixNet(p), Flags: unix.IFA_F_NODAD})
		if errors.Is(err, unix.EEXIST) {
			continue // added by someone else since we looked: not ours to remove
		}
		if err != nil {
			return fmt.Errorf("add address %v: %w", p, err)
		}
		a.state.Addrs = append(a.state.Addrs, p)
	}
	if err := waitAddrsUsable(h, link.Attrs().Index, a.state.Addrs); err != nil {
		return err
	}
	for _, k := range plan.Routes {
		r := k.route(link.Attrs().Index)
		r.Protocol = unix.RTPROT_STATIC
		err := h.RouteAdd(r)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return fmt.Errorf("add route %v: %w", k.Dst, err)
		}
		a.state.Routes = append(a.state.Routes, k)
	}
	if plan.Forwarding != nil {
		c := &forwardingChange{Set: plan.Forwarding.Set, Old: plan.Forwarding.Old}
		if err := c.apply([]string{link.Attrs().Name}); err != nil {
			return errors.Join(err, c.restore())
		}
		a.state.Forwarding = c
	}
	return nil
}

// addrUsableTimeout bounds the wait for the kernel to finish adding an
// address.
const addrUsableTimeout = 5 * time.Second

// waitAddrsUsable waits until the kernel delivers packets for each new
// address locally. IFA_F_NODAD spares the DAD delay, but the local route of
// a new IPv6 address is still installed by the addrconf work queue
// (addrconf_dad_work → ipv6_ifa_notify) a moment after the netlink request
// is acknowledged; a packet arriving in between is dropped as an address
// error (or forwarded). The queue runs only on a link that is up with a
// carrier, so on any other there is nothing to wait for yet.
func waitAddrsUsable(h *netlink.Handle, index int, addrs []netip.Prefix) error {
	if len(addrs) == 0 {
		return nil
	}
	l, err := h.LinkByIndex(index)
	if err != nil {
		return err
	}
	if l.Attrs().RawFlags&(unix.IFF_UP|unix.IFF_RUNNING) != unix.IFF_UP|unix.IFF_RUNNING {
		return nil
	}
	deadline := time.Now().Add(addrUsableTimeout)
	for _, p := range addrs {
		for {
			rs, err := h.RouteGet(p.Addr().AsSlice())
			if err == nil && len(rs) > 0 && rs[0].Type == unix.RTN_LOCAL {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("address %v added but not in use after %v", p, addrUsableTimeout)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// Undo reverses what Configure changed: it removes the routes and
// addresses it added, puts back the MTU, takes the link down if it raised
// it, and restores IPv6 forwarding. Anything someone else changed since is
// left as they set it. If the interface has gone (a closed TUN takes its
// addresses and routes with it) only forwarding remains to restore. On
// success the state file is deleted; on failure it is rewritten with what is
// left, for CleanupStale. Calling Undo again after a success does nothing.
func (a *Applied) Undo() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.undone {
		return nil
	}
	if err := a.undoLocked(); err != nil {
		return fmt.Errorf("router: undo configuration of %s: %w", a.state.Link, err)
	}
	a.undone = true
	a.sys.h.Close()
	return nil
}

func (a *Applied) undoLocked() error {
	if _, ns := currentIdentity(); ns != 0 && a.state.NetNS != 0 && ns != a.state.NetNS {
		return errors.New("called from another network namespace than Configure")
	}
	var r StaleReport
	err := undoState(a.sys.h, &a.state, &r)
	if a.stateFile != "" {
		if err != nil {
			return errors.Join(err, writeStateFile(a.stateFile, &a.state))
		}
		if rerr := os.Remove(a.stateFile); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return rerr
		}
	}
	return err
}

// in6AddrGenModeNone is IN6_ADDR_GEN_MODE_NONE of linux/if_link.h: the
// kernel makes no link-local address on the interface.
const in6AddrGenModeNone = 1

// ReplaceAddr replaces an address Configure added with another (the
// link-local address after the radio's EUI-64 changed): the new one is
// added (without DAD, like the others) before the old one goes, and the
// record Undo and CleanupStale work from is updated.
func (a *Applied) ReplaceAddr(old, new netip.Prefix) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.undone {
		return fmt.Errorf("router: replace address on %s: configuration already undone", a.state.Link)
	}
	if old == new {
		return nil
	}
	i := slices.Index(a.state.Addrs, old)
	if i < 0 {
		return fmt.Errorf("router: replace address %v on %s: not one this configuration added", old, a.state.Link)
	}
	if !new.IsValid() || !new.Addr().Is6() || new.Addr().Zone() != "" {
		return fmt.Errorf("router: replace address on %s: %v is not an IPv6 prefix", a.state.Link, new)
	}
	h := a.sys.h
	link, err := h.LinkByIndex(a.state.Index)
	if err != nil {
		return fmt.Errorf("router: replace address on %s: %w", a.state.Link, err)
	}
	next := slices.Clone(a.state.Addrs)
	next[i] = new
	st := a.state
	st.Addrs = next
	if a.stateFile != "" {
		// Record both until both steps are done: a crash in between leaves
		// nothing CleanupStale does not know of.
		both := st
		both.Addrs = append(slices.Clone(a.state.Addrs), new)
		if err := writeStateFile(a.stateFile, &both); err != nil {
			return err
		}
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: prefixNet(new), Flags: unix.IFA_F_NODAD}); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("router: add address %v on %s: %w", new, a.state.Link, err)
	}
	if err := h.AddrDel(link, &netlink.Addr{IPNet: prefixNet(old)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("router: remove address %v on %s: %w", old, a.state.Link, err)
	}
	a.state = st
	if a.stateFile != "" {
		return writeStateFile(a.stateFile, &a.state)
	}
	return nil
}

// CleanupStale undoes what a previous run recorded in stateFile and did not
// undo itself, because it crashed or was killed. It handles:
//
//   - The previous TUN has vanished (a TUN without IFF_PERSIST goes with its
//     process, and the kernel deletes its addresses and routes): nothing is
//     left on any interface; only IPv6 forwarding is restored.
//   - The previous interface still exists (a persistent TUN someone created
//     with "ip tuntap add", to which OpenTUN attached): the recorded routes
//     and addresses still present are removed, the MTU and the down state
//     put back if still as we set them. The interface itself is not deleted;
//     it is not ours.
//   - Another interface now has the name (same name, different index: a new
//     TUN, or a dummy or veth someone created): it is not touched, even if it
//     carries the same addresses.
//   - The host rebooted since (boot_id differs) or the file comes from
//     another network namespace: nothing is touched.
//   - IPv6 forwarding is restored to its values before the previous run
//     if "all" still holds the value that run set.
//
// The state file is deleted once everything is undone; if something fails,
// it is rewritten with what is left and an error returned. A state file
// written by a live process of the same executable is refused, so that a
// second instance does not undo the configuration of the first. A file that
// cannot be parsed is renamed with a ".corrupt" suffix and ErrCorruptStateFile
// returned. A missing state file is not an error.
//
// name is the TUN name this run is about to use; the report describes what
// holds it after the cleanup (Occupant), which is what OpenTUN will meet.
// Persistent TUNs are never deleted, whoever made them.
func CleanupStale(name string, stateFile string) (*StaleReport, error) {
	st, err := readStateFile(stateFile)
	if err != nil {
		return nil, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("router: cleanup: netlink: %w", err)
	}
	defer h.Close()
	r := &StaleReport{}
	if st != nil {
		r.StateFound, r.PID, r.Link = true, st.PID, st.Link
		if boot, _ := currentIdentity(); boot == st.BootID && liveInstance(st.PID) {
			return r, fmt.Errorf("router: cleanup: state file %s belongs to process %d, which is still running", stateFile, st.PID)
		}
		if err := undoState(h, st, r); err != nil {
			return r, errors.Join(fmt.Errorf("router: cleanup of %s: %w", st.Link, err), writeStateFile(stateFile, st))
		}
		if err := os.Remove(stateFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return r, fmt.Errorf("router: cleanup: %w", err)
		}
	}
	if r.Occupant, err = describeOccupant(h, name); err != nil {
		return r, fmt.Errorf("router: cleanup: %w", err)
	}
	return r, nil
}

// undoState reverses what st records, skipping what is no longer as it was
// left, removes from st each item dealt with and reports it in r. What fails
// stays in st.
func undoState(h *netlink.Handle, st *linkState, r *StaleReport) error {
	link, gone, err := findRecordedLink(h, st)
	if err != nil {
		return err
	}
	var errs []error
	if gone != "" {
		r.Gone = gone
		st.MTU, st.SetUp, st.Addrs, st.Routes = nil, false, nil, nil
	} else {
		errs = append(errs, undoOnLink(h, link, st, r))
	}
	if f := st.Forwarding; f != nil {
		if !f.stillSet() {
			r.Left = append(r.Left, "IPv6 forwarding (net.ipv6.conf.all.forwarding changed since)")
			st.Forwarding = nil
		} else if err := f.restore(); err != nil {
			errs = append(errs, err)
		} else {
			r.Undone = append(r.Undone, "IPv6 forwarding restored")
			st.Forwarding = nil
		}
	}
	return errors.Join(errs...)
}

func undoOnLink(h *netlink.Handle, link netlink.Link, st *linkState, r *StaleReport) error {
	var errs []error
	ifname := link.Attrs().Name
	routes, err := listRoutes(h, st.Index)
	if err != nil {
		return err
	}
	var keepRoutes []routeKey
	for _, k := range st.Routes {
		what := fmt.Sprintf("route %v dev %s metric %d", k.Dst, ifname, k.Metric)
		if _, ok := findRoute(routes, k); !ok {
			r.Left = append(r.Left, what+" (already gone)")
			continue
		}
		if err := h.RouteDel(k.route(st.Index)); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete %s: %w", what, err))
			keepRoutes = append(keepRoutes, k)
			continue
		}
		r.Undone = append(r.Undone, what)
	}
	st.Routes = keepRoutes

	addrs, err := listAddrs(h, link)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	var keepAddrs []netip.Prefix
	for _, p := range st.Addrs {
		what := fmt.Sprintf("address %v on %s", p, ifname)
		if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return addrPrefix(a) == p }) {
			r.Left = append(r.Left, what+" (already gone)")
			continue
		}
		if err := h.AddrDel(link, &netlink.Addr{IPNet: prefixNet(p)}); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("delete %s: %w", what, err))
			keepAddrs = append(keepAddrs, p)
			continue
		}
		r.Undone = append(r.Undone, what)
	}
	st.Addrs = keepAddrs

	if m := st.MTU; m != nil {
		switch cur := link.Attrs().MTU; {
		case cur != m.Set:
			r.Left = append(r.Left, fmt.Sprintf("MTU of %s (%d, changed since)", ifname, cur))
			st.MTU = nil
		default:
			if err := h.LinkSetMTU(link, m.Old); err != nil {
				errs = append(errs, fmt.Errorf("restore MTU %d of %s: %w", m.Old, ifname, err))
			} else {
				r.Undone = append(r.Undone, fmt.Sprintf("MTU of %s back to %d", ifname, m.Old))
				st.MTU = nil
			}
		}
	}
	if st.SetUp {
		if link.Attrs().Flags&net.FlagUp == 0 {
			r.Left = append(r.Left, ifname+" already down")
			st.SetUp = false
		} else if err := h.LinkSetDown(link); err != nil {
			errs = append(errs, fmt.Errorf("set %s down: %w", ifname, err))
		} else {
			r.Undone = append(r.Undone, ifname+" down")
			st.SetUp = false
		}
	}
	return errors.Join(errs...)
}

// findRecordedLink finds the interface st describes, or says why it is gone.
func findRecordedLink(h *netlink.Handle, st *linkState) (netlink.Link, string, error) {
	boot, ns := currentIdentity()
	switch {
	case boot != "" && st.BootID != "" && boot != st.BootID:
		return nil, "the host has rebooted since", nil
	case ns != 0 && st.NetNS != 0 && ns != st.NetNS:
		return nil, "recorded in another network namespace", nil
	}
	l, err := netlinkx.RetryDump("find link", func() (netlink.Link, error) { return h.LinkByIndex(st.Index) })
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf) || errors.Is(err, unix.ENODEV):
		l = nil
	case err != nil:
		return nil, "", err
	case l.Attrs().Name != st.Link:
		return nil, fmt.Sprintf("index %d now belongs to %s, not %s", st.Index, l.Attrs().Name, st.Link), nil
	default:
		return l, "", nil
	}
	gone := fmt.Sprintf("%s (index %d) no longer exists", st.Link, st.Index)
	if other, err := h.LinkByName(st.Link); err == nil {
		gone += fmt.Sprintf("; %s is now another interface (index %d), left alone", st.Link, other.Attrs().Index)
	}
	return nil, gone, nil
}

// describeOccupant says what holds an interface name: "" if nothing.
func describeOccupant(h *netlink.Handle, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	l, err := netlinkx.RetryDump("find link", func() (netlink.Link, error) { return h.LinkByName(name) })
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	tt, ok := l.(*netlink.Tuntap)
	if !ok {
		return l.Type() + " (not a TUN)", nil
	}
	persist := "persistent"
	if tt.NonPersist {
		persist = "non-persistent"
	}
	return fmt.Sprintf("%s %s, %d queues attached", persist, tt.Mode, tt.Queues), nil
}

func listAddrs(h *netlink.Handle, link netlink.Link) ([]netlink.Addr, error) {
	return netlinkx.RetryDump("list addresses", func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_V6) })
}

// listRoutes lists the IPv6 routes of the main table through the interface.
func listRoutes(h *netlink.Handle, index int) ([]netlink.Route, error) {
	filter := &netlink.Route{LinkIndex: index, Table: unix.RT_TABLE_MAIN}
	return netlinkx.RetryDump("list routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_V6, filter, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	})
}

func findRoute(routes []netlink.Route, k routeKey) (netlink.Route, bool) {
	for _, r := range routes {
		dst := netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		if r.Dst != nil {
			dst = netPrefix(r.Dst)
		}
		if dst == k.Dst && r.Priority == k.Metric && r.Table == k.Table {
			return r, true
		}
	}
	return netlink.Route{}, false
}

func (k routeKey) route(index int) *netlink.Route {
	return &netlink.Route{
		LinkIndex: index,
		Dst:       prefixNet(k.Dst),
		Priority:  k.Metric,
		Table:     k.Table,
		Family:    netlink.FAMILY_V6,
	}
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func netPrefix(n *net.IPNet) netip.Prefix {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a, ones)
}

func addrPrefix(a netlink.Addr) netip.Prefix {
	if a.IPNet == nil {
		return netip.Prefix{}
	}
	return netPrefix(a.IPNet)
}

// currentIdentity returns the kernel's boot ID and the inode of the calling
// thread's network namespace; either is zero if it cannot be read.
func currentIdentity() (bootID string, netns uint64) {
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		bootID = strings.TrimSpace(string(b))
	}
	var st unix.Stat_t
	if unix.Stat("/proc/thread-self/ns/net", &st) == nil {
		netns = st.Ino
	}
	return bootID, netns
}

// liveInstance reports whether pid is another running process of this same
// executable.
func liveInstance(pid int) bool {
	if pid <= 0 || pid == os.Getpid() {
		return false
	}
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return false
	}
	other, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	return err == nil && other == self
}
